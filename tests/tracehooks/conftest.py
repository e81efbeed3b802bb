"""Shared fixtures for the tracehooks tests."""

from __future__ import annotations

import sys

import pytest

import tracehooks


@pytest.fixture(autouse=True)
def clean_tracehooks_state(monkeypatch):
    """Give each test the built-in defaults and check it leaves no tracer behind."""
    monkeypatch.delenv("TRACEHOOKS", raising=False)
    monkeypatch.delenv("TRACEHOOKS_SINK", raising=False)
    tracehooks.reset_defaults()
    tracer_before = sys.gettrace()
    tools_before = monitoring_tools()
    yield
    monkeypatch.delenv("TRACEHOOKS", raising=False)
    monkeypatch.delenv("TRACEHOOKS_SINK", raising=False)
    tracehooks.reset_defaults()
    assert sys.gettrace() is tracer_before
    assert monitoring_tools() == tools_before


def monitoring_tools():
    """The six sys.monitoring tool names (empty tuple before Python 3.12)."""
    if sys.version_info < (3, 12):
        return ()
    return tuple(sys.monitoring.get_tool(i) for i in range(6))


@pytest.fixture
def torch():
    """The torch module, or skip the test where torch is not installed."""
    return pytest.importorskip("torch")
