"""Trace specs: what a bare ``trace(owner, name)`` prints, registered by the package that owns the code.

A package knows the names its C counterpart prints; it registers, per method, a :class:`TraceSpec`
(the locals or watched assignments, the emitted values, the formats and the line style), keyed by
the method's qualified name (``module.Class.method``).  ``trace(owner, name)`` given none of
``locals=``, ``watch=`` or ``emit=`` looks the spec up (along the class's MRO); options given
explicitly still win (see :meth:`TraceSpec.options`).  Without a spec, it prints every printable
local at return and then the result (``locals=True``).

Specs are found from outside through the entry point group ``tracehooks.specs``: an entry point
named after a top-level package (``nanobrag_torch = nanobrag_torch.trace._specs:register``) is
loaded, once, the first time a target of that package is traced bare and has no spec yet.  What it
names is called if it is callable (a function that registers), else importing it is enough.
"""

from __future__ import annotations

import importlib.metadata
import threading
import types
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import TraceWarning
from ._format import Fmt
from ._options import Block, Emitters, Formats, Index, Locals, TraceOptions, Watch

__all__ = ["ENTRY_POINT_GROUP", "TraceSpec", "get_spec", "register_spec", "spec_key"]

#: The entry point group through which packages register their specs.
ENTRY_POINT_GROUP = "tracehooks.specs"

#: The options that say what is printed; giving any of them replaces the spec's as a group.
CONTENT = ("locals", "watch", "emit")

_lock = threading.RLock()
_specs: dict[str, TraceSpec] = {}
_loaded: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class TraceSpec:
    """What a trace of one method prints by default: :func:`~tracehooks.trace`'s options, plus ``block``.

    ``block(call)`` returns ``(name, value)`` or ``(name, value, style)`` entries, printed after the
    ``locals``, ``watch`` and ``emit`` ones: a block of lines in the C's order, with a style per line.
    A block that takes an ``index`` keyword receives the trace's ``index=`` (when given) and picks
    the element itself; its values are then printed whole (else ``index`` applies to each value).
    A watched local with no labels (``watch={"pix0": ()}``) is recorded in ``Call.unlabelled`` but
    not printed, for a ``block`` to print.

    Example:
        >>> spec = TraceSpec(locals={"Fclose_m": "Fclose"}, style="equals")
        >>> spec.options({"style": "space"}).explicit
        {'style': 'space'}
    """

    locals: Locals | None = None
    watch: Watch | None = None
    emit: Emitters | None = None
    block: Block | None = None
    index: Index | None = None
    formats: Formats | None = None
    prefix: str | None = None
    style: str | None = None
    fmt: Fmt | None = None
    #: Where the spec was registered from (``file:line`` or the entry point), for messages.
    origin: str = field(default="", compare=False)

    def options(self, given: Mapping[str, Any], all_threads: bool = False) -> TraceOptions:
        """The options of a trace: the spec's, under those ``given`` explicitly.

        Each of ``index``, ``formats``, ``prefix``, ``style``, ``fmt`` and ``sink`` given replaces
        the spec's; giving any of ``locals``, ``watch`` or ``emit`` replaces all of the spec's
        ``locals``, ``watch``, ``emit`` and ``block`` (the caller chose what to print).
        """
        merged = {"locals": self.locals, "watch": self.watch, "emit": self.emit, "block": self.block,
                  "index": self.index, "formats": self.formats, "prefix": self.prefix,
                  "style": self.style, "fmt": self.fmt}
        if any(key in given for key in CONTENT):
            merged.update(locals=None, watch=None, emit=None, block=None)
        merged.update(given)
        return TraceOptions(all_threads=all_threads, **merged)


def spec_key(owner: Any, name: str) -> str:
    """The registry key of ``owner.name``: ``module.Qualname.name`` (a str owner is taken as written).

    Example:
        >>> import collections
        >>> spec_key(collections.OrderedDict, "popitem"), spec_key(collections, "namedtuple")
        ('collections.OrderedDict.popitem', 'collections.namedtuple')
        >>> spec_key("pkg.mod.Class", "method")
        'pkg.mod.Class.method'
    """
    if isinstance(owner, str):
        return f"{owner}.{name}"
    if isinstance(owner, types.ModuleType):
        return f"{owner.__name__}.{name}"
    if not isinstance(owner, type):
        owner = type(owner)
    return f"{owner.__module__}.{owner.__qualname__}.{name}"


def register_spec(owner: Any, name: str, spec: TraceSpec) -> Callable[[], None]:
    """Register what ``trace(owner, name)`` prints by default; return an ``undo()`` that removes it.

    ``owner`` is a class, a module or a qualified name (``"pkg.mod.Class"``).  Registering again
    replaces the spec.

    Example:
        >>> undo = register_spec("pkg.mod.Class", "method", TraceSpec(locals=["x"]))
        >>> get_spec("pkg.mod.Class", "method").locals
        ['x']
        >>> undo(); get_spec("pkg.mod.Class", "method") is None
        True
    """
    if not isinstance(spec, TraceSpec):
        raise TypeError(f"register_spec({owner!r}, {name!r}, ...) takes a tracehooks.TraceSpec, got "
                        f"{type(spec).__name__} {spec!r:.60}")
    key = spec_key(owner, name)
    with _lock:
        _specs[key] = spec

    def undo() -> None:
        with _lock:
            if _specs.get(key) is spec:
                del _specs[key]

    return undo


def get_spec(owner: Any, name: str, *, load: bool = True) -> TraceSpec | None:
    """The spec registered for ``owner.name`` (or an ancestor class's ``name``), else None.

    With ``load``, entry points of the group ``tracehooks.specs`` named after the owner's top-level
    package are loaded first, once, if no spec is registered yet.
    """
    keys = _candidate_keys(owner, name)
    spec = _lookup(keys)
    if spec is None and load:
        _load_entry_points(keys)
        spec = _lookup(keys)
    return spec


def _candidate_keys(owner: Any, name: str) -> list[str]:
    if isinstance(owner, (str, types.ModuleType)):
        return [spec_key(owner, name)]
    cls = owner if isinstance(owner, type) else type(owner)
    return [spec_key(klass, name) for klass in cls.__mro__ if name in vars(klass)] or \
        [spec_key(cls, name)]


def _lookup(keys: list[str]) -> TraceSpec | None:
    with _lock:
        for key in keys:
            if key in _specs:
                return _specs[key]
    return None


def _load_entry_points(keys: list[str]) -> None:
    try:
        points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception:  # a broken distribution on sys.path must not break tracing
        return
    for point in points:
        ident = (point.name, point.value)
        if ident in _loaded or not any(key.startswith(f"{point.name}.") for key in keys):
            continue
        with _lock:
            if ident in _loaded:
                continue
            _loaded.add(ident)
        try:
            loaded = point.load()
            if callable(loaded) and not isinstance(loaded, types.ModuleType):
                loaded()
        except Exception as exc:
            warnings.warn(f"tracehooks: entry point {point.name} = {point.value} of group "
                          f"{ENTRY_POINT_GROUP!r} failed to load its trace specs: "
                          f"{type(exc).__name__}: {exc}", TraceWarning, stacklevel=4)


def forget_loaded_entry_points() -> None:
    """Let entry points load again (for tests that install a distribution's entry points)."""
    with _lock:
        _loaded.clear()
