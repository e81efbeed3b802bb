"""Process-wide defaults and the on/off switch of ``@traced``.

Precedence, highest first: an option passed to ``trace()``/``@traced``/
``emit()`` (merged in ``_options``); a value given to ``configure()``; the
environment; the built-in default.  The environment is read here and
nowhere else:

* ``TRACEHOOKS`` -- ``1``/``true``/``on``/``yes`` switch ``@traced`` on,
  ``0``/``false``/``off``/``no``/empty leave it off;
* ``TRACEHOOKS_SINK`` -- the default sink (``stdout``, ``stderr`` or a path).

The environment is read at import, by ``configure()`` (for the keys never
passed to it) and by ``reset_defaults()``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any

from ._errors import TraceWarning
from ._format import Fmt, compile_format
from ._grammar import STYLES

__all__ = ["CONFIGURED", "Config", "UNCHANGED", "Unset", "config_version", "configure", "enabled",
           "get_config", "reset_defaults", "thread_enabled", "traced_enabled_test"]

_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"", "0", "false", "off", "no"})


class Unset:
    """The default of a keyword argument that stands for "not given".

    Its repr, which ``inspect.signature`` and editors show, says what is
    done instead.

    Example:
        >>> CONFIGURED, UNCHANGED
        (<configured>, <unchanged>)
    """

    __slots__ = ("_meaning",)

    def __init__(self, meaning: str) -> None:
        self._meaning = meaning

    def __repr__(self) -> str:
        return f"<{self._meaning}>"


#: ``configure()``'s default: that setting stays as it is.
UNCHANGED = Unset("unchanged")
#: The default of a per-call output option (``prefix``, ``style``, ``fmt``, ``sink``): the
#: value ``configure()`` set, read when a trace starts, at each ``@traced`` call, at ``emit()``.
CONFIGURED = Unset("configured")


@dataclasses.dataclass(frozen=True)
class Config:
    """The defaults in force; obtain it with ``get_config()``.

    Example:
        >>> Config().prefix, Config().style, Config().fmt
        ('TRACE_PY', 'space', '%.15g')
    """

    prefix: str = "TRACE_PY"
    style: str = "space"
    fmt: Fmt = "%.15g"
    sink: Any = "stdout"
    enabled: bool = False


class _State:
    """Mutable module state; ``tokens`` is non-empty exactly while @traced is on.

    ``tokens.__len__`` is handed to wrapt as the ``enabled`` test: a C-level
    call, so a disabled ``@traced`` function runs no Python code of ours.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.explicit: dict[str, Any] = {}
        self.config = Config()
        self.version = 0
        self.tokens: list[object] = []
        self.config_on = False
        self.all_threads_blocks = 0
        self.threads: dict[int, int] = {}


_STATE = _State()


def _environment() -> dict[str, Any]:
    found: dict[str, Any] = {}
    raw = os.environ.get("TRACEHOOKS")
    if raw is not None:
        value = raw.strip().lower()
        if value in _TRUE:
            found["enabled"] = True
        elif value in _FALSE:
            found["enabled"] = False
        else:
            # A warning, not an exception: this runs at import time.
            warnings.warn(f"environment variable TRACEHOOKS={raw!r} is not understood; allowed: "
                          "1/true/on/yes or 0/false/off/no; @traced stays off", TraceWarning,
                          stacklevel=2)
    sink = os.environ.get("TRACEHOOKS_SINK")
    if sink:
        found["sink"] = sink
    return found


def _validate(key: str, value: Any) -> None:
    if key == "prefix" and not isinstance(value, str):
        raise TypeError(f"configure(prefix=...) must be str, got {type(value).__name__} {value!r}")
    if key == "style" and value not in STYLES:
        raise ValueError(f"configure(style={value!r}) is not supported; allowed: "
                         f"{', '.join(repr(s) for s in STYLES)}")
    if key == "fmt" and not callable(value):
        compile_format(value)
    if key == "enabled" and not isinstance(value, bool):
        raise TypeError(f"configure(enabled=...) must be bool, got {type(value).__name__} {value!r}")


def _rebuild() -> Config:
    merged = {**_environment(), **_STATE.explicit}
    config = Config(**merged)
    with _STATE.lock:
        _STATE.config = config
        _STATE.version += 1
        _set_global(config.enabled)
    return config


def _set_global(on: bool) -> None:
    if on and not _STATE.config_on:
        _STATE.tokens.append(_set_global)
    elif not on and _STATE.config_on:
        _STATE.tokens.remove(_set_global)
    _STATE.config_on = on


def configure(*, prefix: str | Unset = UNCHANGED, style: str | Unset = UNCHANGED,
              fmt: Fmt | Unset = UNCHANGED, sink: Any = UNCHANGED,
              enabled: bool | Unset = UNCHANGED) -> Config:
    """Set process-wide defaults; the ones not given stay as they are (:data:`UNCHANGED`).

    ``prefix``, ``style``, ``fmt`` and ``sink`` are the defaults of the options
    of the same names of ``trace()``, ``@traced`` and ``emit()``; ``enabled``
    switches ``@traced`` on in every thread.  Values persist until changed
    or until ``reset_defaults()``.  Returns the new configuration.

    Example:
        >>> configure(prefix="TRACE_PY", style="equals").style
        'equals'
        >>> _ = reset_defaults()
    """
    requested = {"prefix": prefix, "style": style, "fmt": fmt, "sink": sink, "enabled": enabled}
    defaults = {key: value for key, value in requested.items() if value is not UNCHANGED}
    for key, value in defaults.items():
        _validate(key, value)
    with _STATE.lock:
        _STATE.explicit.update(defaults)
        return _rebuild()


def get_config() -> Config:
    """Return the configuration in force (an immutable snapshot).

    Example:
        >>> get_config().prefix
        'TRACE_PY'
    """
    return _STATE.config


def reset_defaults() -> Config:
    """Forget every ``configure()`` call; re-read the environment.

    Example:
        >>> _ = configure(prefix="X")
        >>> reset_defaults().prefix
        'TRACE_PY'
    """
    with _STATE.lock:
        _STATE.explicit.clear()
        return _rebuild()


def config_version() -> int:
    """A counter bumped at each configuration change (for caches).

    Example:
        >>> isinstance(config_version(), int)
        True
    """
    return _STATE.version


def traced_enabled_test() -> Any:
    """The zero-argument C callable telling wrapt whether ``@traced`` is on.

    Example:
        >>> traced_enabled_test()() == (1 if get_config().enabled else 0)
        True
    """
    return _STATE.tokens.__len__


def thread_enabled(thread: int) -> bool:
    """Whether ``@traced`` emits for calls on ``thread`` (global switch or an ``enabled()`` block).

    Example:
        >>> import threading
        >>> with enabled():
        ...     thread_enabled(threading.get_ident())
        True
    """
    return _STATE.config_on or _STATE.all_threads_blocks > 0 or thread in _STATE.threads


@contextlib.contextmanager
def enabled(all_threads: bool = False) -> Iterator[None]:
    """Switch ``@traced`` functions on for the ``with`` block.

    By default only calls made on the thread that entered the block emit
    (other threads run untraced); ``all_threads=True`` switches them on
    everywhere, like ``configure(enabled=True)`` but only for the block.

    Example:
        >>> import tracehooks
        >>> @tracehooks.traced(emit={"y": lambda call: call.result}, sink=print)
        ... def double(x):
        ...     return 2 * x
        >>> with enabled():
        ...     double(4)
        TRACE_PY: y 8
        8
        >>> double(5)
        10
    """
    thread = threading.get_ident()
    token = object()
    with _STATE.lock:
        _STATE.tokens.append(token)
        if all_threads:
            _STATE.all_threads_blocks += 1
        else:
            _STATE.threads[thread] = _STATE.threads.get(thread, 0) + 1
    try:
        yield
    finally:
        with _STATE.lock:
            _STATE.tokens.remove(token)
            if all_threads:
                _STATE.all_threads_blocks -= 1
            else:
                _STATE.threads[thread] -= 1
                if not _STATE.threads[thread]:
                    del _STATE.threads[thread]


_rebuild()
