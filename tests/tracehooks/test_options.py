"""Options are named keyword-only parameters, visible in the signatures (tracehooks._options)."""

from __future__ import annotations

import inspect
import math

import pytest

import tracehooks
from tracehooks import CaptureHandle, TraceHandle, capture, configure, emit, trace, traced

OUTPUT = ["prefix", "style", "fmt", "sink"]
TRACE_OPTIONS = ["locals", "watch", "emit", "index", "formats"] + OUTPUT + ["all_threads"]


def keyword_defaults(function):
    """``{name: repr(default)}`` of a callable's keyword-only parameters, in order."""
    parameters = inspect.signature(function).parameters.values()
    return {p.name: repr(p.default) for p in parameters if p.kind is p.KEYWORD_ONLY}


@pytest.mark.parametrize("function, names", [
    (trace, TRACE_OPTIONS),
    (traced, TRACE_OPTIONS),
    (capture, ["locals", "watch", "all_threads"]),
    (emit, ["index"] + OUTPUT),
    (configure, OUTPUT + ["enabled"]),
])
def test_options_are_keyword_only_parameters(function, names):
    """Each entry point lists its options as keyword-only parameters, in this order."""
    assert list(keyword_defaults(function)) == names


def test_defaults_say_what_happens_when_left_out():
    """Output options default to <configured>, configure()'s to <unchanged>, the rest as shown."""
    assert keyword_defaults(trace) == {
        "locals": "None", "watch": "None", "emit": "None", "index": "None", "formats": "None",
        "prefix": "<configured>", "style": "<configured>", "fmt": "<configured>",
        "sink": "<configured>", "all_threads": "False",
    }
    assert set(keyword_defaults(configure).values()) == {"<unchanged>"}


@pytest.mark.parametrize("call", [
    lambda: traced(local=["x"]),
    lambda: emit("a", 1, locals=["x"]),
    lambda: configure(enable=True),
])
def test_unknown_keyword_is_pythons_type_error(call):
    """A misspelt option raises the TypeError Python raises for any unexpected keyword."""
    with pytest.raises(TypeError, match=r"got an unexpected keyword argument"):
        call()


def test_none_is_the_same_as_leaving_an_output_option_out():
    """prefix=None (the spelling before the sentinel) still means the configured prefix."""
    configure(prefix="CONFIGURED")
    lines = []
    emit("a", 1, prefix=None, sink=lines)
    emit("b", 2, sink=lines)
    assert lines == ["CONFIGURED: a 1", "CONFIGURED: b 2"]


def test_configure_leaves_out_what_is_not_given():
    """configure(style=...) keeps the prefix set by an earlier call."""
    configure(prefix="FIRST")
    assert (configure(style="equals").prefix, tracehooks.get_config().style) == ("FIRST", "equals")


def test_handles_still_accept_a_mapping_of_options():
    """TraceHandle(target, name, {...}) and CaptureHandle(...), the older spelling, still work."""
    lines = []
    with TraceHandle(math, "hypot", {"emit": {"r": lambda call: call.result}, "sink": lines}):
        math.hypot(3, 4)
    with CaptureHandle(math, "floor", {"all_threads": True}) as seen:
        math.floor(2.5)
    assert (lines, [call.result for call in seen.calls]) == (["TRACE_PY: r 5"], [2])
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'sink'"):
        CaptureHandle(math, "floor", {"sink": []})
