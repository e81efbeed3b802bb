"""Process-wide defaults, the on/off switch of ``@traced``, and option precedence.

:class:`TraceOptions` validates the options of one ``trace``/``capture``/
``@traced``/``emit`` call and merges its output options over the defaults.

Precedence, highest first: an option passed to ``trace()``/``@traced``/
``emit()``; a value given to ``configure()``; the environment; the
built-in default.  The environment is read here and nowhere else:

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
from collections.abc import Iterator, Mapping
from typing import Any

from ._capture import normalize_locals, normalize_watch
from ._errors import TraceWarning
from ._format import STYLES, Fmt, Renderer, compile_format
from ._sinks import Sink, resolve_sink

__all__ = ["CAPTURE_KEYS", "Config", "EMIT_KEYS", "TRACE_KEYS", "TraceOptions", "configure",
           "enabled", "get_config", "reset_defaults"]

_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"", "0", "false", "off", "no"})


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


_FIELDS = tuple(field.name for field in dataclasses.fields(Config))


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


def configure(**defaults: Any) -> Config:
    """Set process-wide defaults: ``prefix``, ``style``, ``fmt``, ``sink``, ``enabled``.

    Values persist until changed or until ``reset_defaults()``.  Returns the
    new configuration.

    Example:
        >>> configure(prefix="TRACE_PY", style="equals").style
        'equals'
        >>> _ = reset_defaults()
    """
    unknown = sorted(set(defaults) - set(_FIELDS))
    if unknown:
        raise TypeError(f"configure() got unknown option(s) {', '.join(unknown)}; allowed: "
                        f"{', '.join(_FIELDS)}")
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


def merged_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Fill prefix/style/fmt/sink missing from ``options`` with the configured defaults.

    Example:
        >>> merged_options({"prefix": "TRACE_C"})["prefix"], merged_options({})["prefix"]
        ('TRACE_C', 'TRACE_PY')
    """
    config = _STATE.config
    return {key: options[key] if options.get(key) is not None else getattr(config, key)
            for key in ("prefix", "style", "fmt", "sink")}


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


OUTPUT_KEYS = ("prefix", "style", "fmt", "sink")
TRACE_KEYS = ("locals", "watch", "emit", "index", "formats", "all_threads") + OUTPUT_KEYS
CAPTURE_KEYS = ("locals", "watch", "all_threads")
EMIT_KEYS = ("index",) + OUTPUT_KEYS


def _index_tuple(index: Any, name: str) -> tuple[int, ...] | None:
    if index is None:
        return None
    if isinstance(index, int) and not isinstance(index, bool):
        return (index,)
    if isinstance(index, (tuple, list)) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in index):
        return tuple(index)
    raise TypeError(f"index{name} must be an int or a tuple of ints, got {index!r}")


class TraceOptions:
    """Validated, normalised options of one trace/capture/traced/emit call.

    Output options left out (or None) fall back to ``configure()`` values
    when the trace starts (``@traced``: at each call).

    Example:
        >>> options = TraceOptions({"locals": ["x"], "index": (1, 2)}, TRACE_KEYS, "trace")
        >>> options.locals, options.index_for("x")
        ({'x': 'x'}, (1, 2))
    """

    def __init__(self, options: Mapping[str, Any], allowed: tuple[str, ...], caller: str) -> None:
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise TypeError(f"{caller}() got unknown option(s) {', '.join(unknown)}; allowed: "
                            f"{', '.join(allowed)}")
        self.locals = normalize_locals(options.get("locals"))
        self.watch = normalize_watch(options.get("watch"))
        self.emit = dict(options.get("emit") or {})
        for name, function in self.emit.items():
            if not callable(function):
                raise TypeError(f"emit={{{name!r}: ...}} must be a callable taking the Call, got "
                                f"{function!r}")
        raw_index = options.get("index")
        if isinstance(raw_index, Mapping):
            self.index: Any = {name: _index_tuple(i, f"[{name!r}]") for name, i in raw_index.items()}
        else:
            self.index = _index_tuple(raw_index, "")
        self.formats = dict(options.get("formats") or {})
        for fmt in self.formats.values():
            if not callable(fmt):
                compile_format(fmt)
        self.explicit = {key: options.get(key) for key in OUTPUT_KEYS}
        if self.explicit["style"] is not None and self.explicit["style"] not in STYLES:
            raise ValueError(f"style={self.explicit['style']!r} is not supported; allowed: "
                             f"{', '.join(repr(s) for s in STYLES)}")
        if self.explicit["fmt"] is not None and not callable(self.explicit["fmt"]):
            compile_format(self.explicit["fmt"])
        self.all_threads = bool(options.get("all_threads", False))

    def index_for(self, name: str) -> tuple[int, ...] | None:
        """The index to apply to the value printed under ``name`` (None: print it whole)."""
        return self.index.get(name) if isinstance(self.index, dict) else self.index

    def output(self) -> tuple[Renderer, Sink, bool]:
        """Renderer and sink from explicit options over the configuration; True if owned."""
        merged = merged_options(self.explicit)
        renderer = Renderer(merged["prefix"], merged["style"], merged["fmt"])
        sink = resolve_sink(merged["sink"])
        return renderer, sink, sink.owns_resource and not isinstance(merged["sink"], Sink)


_rebuild()
