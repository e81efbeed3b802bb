"""The options of one ``trace``/``capture``/``@traced``/``emit`` call, checked once.

Each entry point takes its options as keyword-only parameters and hands
them to :class:`TraceOptions`, which checks and normalises them.  The output
options ``prefix``, ``style``, ``fmt`` and ``sink`` default to
:data:`~tracehooks._config.CONFIGURED`: left out (or given as ``None``),
they take the value ``configure()`` set when the output is resolved -- when
a trace starts, at each call of a ``@traced`` function, at each ``emit()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ._capture import Call, normalize_locals, normalize_watch
from ._config import CONFIGURED, Unset, get_config
from ._format import Fmt, Renderer, compile_format
from ._grammar import STYLES
from ._sinks import Sink, resolve_sink

__all__ = ["Block", "Emitters", "Formats", "Index", "Locals", "TraceOptions", "Watch"]

#: ``locals=``: the names of the locals to print, ``{emitted name: local name}``, or True for every
#: local that can be printed (numbers, vectors, matrices, tensors, arrays) followed by the result.
Locals = Sequence[str] | Mapping[str, str] | bool
#: ``watch=``: the locals to watch, or ``{local name: label or labels, one per assignment}``.
Watch = Sequence[str] | Mapping[str, str | Sequence[str]]
#: ``emit=``: ``{name: callable receiving the Call}``.
Emitters = Mapping[str, Callable[[Call], Any]]
#: ``index=``: the index picked out of a batched value, or ``{name: index}``.
Index = int | tuple[int, ...] | Mapping[str, int | tuple[int, ...]]
#: ``formats=``: ``{name: printf format or callable}``.
Formats = Mapping[str, Fmt]
#: A spec's ``block``: receives the Call, returns ``(name, value)`` or ``(name, value, style)`` entries.
Block = Callable[[Call], Iterable[tuple]]

_OUTPUT = ("prefix", "style", "fmt", "sink")


def _index_tuple(index: Any, name: str) -> tuple[int, ...] | None:
    if index is None:
        return None
    if isinstance(index, int) and not isinstance(index, bool):
        return (index,)
    if isinstance(index, (tuple, list)) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in index):
        return tuple(index)
    raise TypeError(f"index{name} must be an int or a tuple of ints, got {index!r}")


def _emitters(emit: Emitters | None) -> dict[str, Callable[[Call], Any]]:
    emitters = dict(emit or {})
    for name, function in emitters.items():
        if not callable(function):
            raise TypeError(f"emit={{{name!r}: ...}} must be a callable taking the Call, got "
                            f"{function!r}")
    return emitters


def _formats(formats: Formats | None) -> dict[str, Fmt]:
    checked = dict(formats or {})
    for fmt in checked.values():
        if not callable(fmt):
            compile_format(fmt)
    return checked


def _explicit_output(prefix: Any, style: Any, fmt: Any, sink: Any) -> dict[str, Any]:
    given = {key: value for key, value in zip(_OUTPUT, (prefix, style, fmt, sink))
             if value is not None and value is not CONFIGURED}
    if "style" in given and given["style"] not in STYLES:
        raise ValueError(f"style={given['style']!r} is not supported; allowed: "
                         f"{', '.join(repr(s) for s in STYLES)}")
    if "fmt" in given and not callable(given["fmt"]):
        compile_format(given["fmt"])
    return given


class TraceOptions:
    """Checked, normalised options of one trace/capture/traced/emit call.

    Output options left out (or None) fall back to ``configure()`` values
    when the output is resolved (:meth:`output`).

    Example:
        >>> options = TraceOptions(locals=["x"], index=(1, 2))
        >>> options.locals, options.index_for("x"), options.explicit
        ({'x': 'x'}, (1, 2), {})
    """

    def __init__(self, *, locals: Locals | None = None, watch: Watch | None = None,
                 emit: Emitters | None = None, index: Index | None = None,
                 formats: Formats | None = None, prefix: str | Unset | None = CONFIGURED,
                 style: str | Unset | None = CONFIGURED, fmt: Fmt | Unset | None = CONFIGURED,
                 sink: Any = CONFIGURED, all_threads: bool = False,
                 block: Block | None = None) -> None:
        #: True for ``locals=True``: every printable local at return, then the result.
        self.all_locals = locals is True
        self.locals = normalize_locals(None if isinstance(locals, bool) else locals)
        self.watch = normalize_watch(watch)
        self.emit = _emitters(emit)
        if isinstance(index, Mapping):
            self.index: Any = {name: _index_tuple(i, f"[{name!r}]") for name, i in index.items()}
        else:
            self.index = _index_tuple(index, "")
        self.formats = _formats(formats)
        #: The output options given, by name (those left out are not in it).
        self.explicit = _explicit_output(prefix, style, fmt, sink)
        self.all_threads = bool(all_threads)
        if block is not None and not callable(block):
            raise TypeError(f"block= must be a callable taking the Call, got {block!r}")
        self.block = block

    def index_for(self, name: str) -> tuple[int, ...] | None:
        """The index to apply to the value printed under ``name`` (None: print it whole)."""
        return self.index.get(name) if isinstance(self.index, dict) else self.index

    def merged(self) -> dict[str, Any]:
        """prefix, style, fmt and sink: those given, the configured ones for the others.

        Example:
            >>> TraceOptions(prefix="TRACE_C").merged()["prefix"], TraceOptions().merged()["prefix"]
            ('TRACE_C', 'TRACE_PY')
        """
        config = get_config()
        explicit = self.explicit
        return {key: explicit[key] if key in explicit else getattr(config, key) for key in _OUTPUT}

    def output(self) -> tuple[Renderer, Sink, bool]:
        """Renderer and sink from the given options over the configuration; True if owned.

        Example:
            >>> renderer, sink, owned = TraceOptions(style="equals", sink=[]).output()
            >>> renderer, sink, owned
            (Renderer(prefix='TRACE_PY', style='equals', fmt='%.15g'), <ListSink list of 0 lines>, False)
        """
        merged = self.merged()
        renderer = Renderer(merged["prefix"], merged["style"], merged["fmt"])
        sink = resolve_sink(merged["sink"])
        return renderer, sink, sink.owns_resource and not isinstance(merged["sink"], Sink)
