"""Configuration: defaults, configure(), environment and precedence."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import tracehooks
from tracehooks import Config, TraceWarning, configure, emit, enabled, get_config, reset_defaults


def test_built_in_defaults():
    """Without configure() or environment the defaults are the documented ones."""
    assert get_config() == Config(prefix="TRACE_PY", style="space", fmt="%.15g", sink="stdout",
                                  enabled=False)


def test_configure_sets_and_returns_defaults():
    """configure() changes only the given keys and returns the new Config."""
    result = configure(prefix="TRACE_C", style="equals")
    assert (result, get_config()) == (Config(prefix="TRACE_C", style="equals"),) * 2


def test_configure_persists_across_calls():
    """A later configure() keeps what an earlier one set."""
    configure(prefix="A")
    configure(fmt="%.3f")
    assert (get_config().prefix, get_config().fmt) == ("A", "%.3f")


def test_reset_defaults_forgets_configure():
    """reset_defaults() returns to the built-in values."""
    configure(prefix="A", enabled=True)
    assert reset_defaults() == Config()


def test_unknown_option_is_a_type_error():
    """configure(colour=...) raises Python's own TypeError for an unexpected keyword."""
    with pytest.raises(TypeError, match=r"configure\(\) got an unexpected keyword argument 'colour'"):
        configure(colour="red")


@pytest.mark.parametrize("options, error, message", [
    ({"style": "tabs"}, ValueError, r"configure\(style='tabs'\) is not supported"),
    ({"fmt": "%s"}, ValueError, r"uses the conversion '%s'"),
    ({"prefix": 3}, TypeError, r"configure\(prefix=...\) must be str, got int 3"),
    ({"enabled": "yes"}, TypeError, r"configure\(enabled=...\) must be bool, got str 'yes'"),
])
def test_invalid_values_are_rejected(options, error, message):
    """Bad values raise the matching built-in error and change nothing."""
    with pytest.raises(error, match=message):
        configure(**options)
    assert get_config() == Config()


def test_environment_enables_traced(monkeypatch):
    """TRACEHOOKS=1 switches @traced on when the defaults are (re)read."""
    monkeypatch.setenv("TRACEHOOKS", "1")
    assert reset_defaults().enabled is True


def test_environment_sink(monkeypatch, tmp_path):
    """TRACEHOOKS_SINK sets the default sink."""
    monkeypatch.setenv("TRACEHOOKS_SINK", str(tmp_path / "t.log"))
    assert reset_defaults().sink == str(tmp_path / "t.log")


def test_configure_beats_environment(monkeypatch):
    """A configure() value wins over the environment, and configure() re-reads the rest."""
    monkeypatch.setenv("TRACEHOOKS", "1")
    monkeypatch.setenv("TRACEHOOKS_SINK", "stderr")
    config = configure(enabled=False)
    assert (config.enabled, config.sink) == (False, "stderr")


def test_explicit_option_beats_configure():
    """emit(prefix=...) wins over configure(prefix=...), which wins over the default."""
    lines: list[str] = []
    configure(prefix="CONFIGURED", sink=lines)
    emit("a", 1)
    emit("b", 2, prefix="EXPLICIT")
    assert lines == ["CONFIGURED: a 1", "EXPLICIT: b 2"]


def test_unknown_environment_value_warns(monkeypatch):
    """TRACEHOOKS=maybe warns (TraceWarning) and leaves @traced off."""
    monkeypatch.setenv("TRACEHOOKS", "maybe")
    with pytest.warns(TraceWarning, match=r"TRACEHOOKS='maybe' is not understood; allowed: "
                                          r"1/true/on/yes or 0/false/off/no"):
        config = reset_defaults()
    assert config.enabled is False


def test_environment_is_read_at_import():
    """In a fresh interpreter, TRACEHOOKS=1 makes @traced functions print."""
    code = textwrap.dedent("""
        import tracehooks
        @tracehooks.traced(locals=["y"])
        def f(x):
            y = x + 1
            return y
        f(1)
    """)
    env = {**os.environ, "TRACEHOOKS": "1"}
    env.pop("TRACEHOOKS_SINK", None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert result.stdout == "TRACE_PY: y 2\n"


def test_enabled_context_manager_restores():
    """enabled() switches @traced on for the block only."""
    lines: list[str] = []

    @tracehooks.traced(emit={"r": lambda call: call.result}, sink=lines)
    def f(x):
        return x

    f(1)
    with enabled():
        f(2)
        with enabled():
            f(3)
        f(4)
    f(5)
    assert lines == ["TRACE_PY: r 2", "TRACE_PY: r 3", "TRACE_PY: r 4"]


def test_configure_enabled_switches_traced_on_and_off():
    """configure(enabled=True/False) switches @traced on and off."""
    lines: list[str] = []

    @tracehooks.traced(emit={"r": lambda call: call.result}, sink=lines)
    def f(x):
        return x

    configure(enabled=True)
    f(1)
    configure(enabled=False)
    f(2)
    assert lines == ["TRACE_PY: r 1"]


def test_config_is_immutable():
    """get_config() returns a frozen snapshot."""
    with pytest.raises(AttributeError):
        get_config().prefix = "X"
