"""Replace an attribute with a wrapt wrapper, and later put back exactly what was there.

Restoring exactly means: the very same object back in the owner's
``__dict__`` when the attribute lived there, or no entry at all when it
was inherited (or came from the class, for an instance).

All the patches of one attribute, from any thread, share one record (a
``_Slot``): what to restore is read once, when the first of them is
applied, under the same lock that installs the wrappers, so that no patch
can mistake another one's wrapper for the original.  The installed object
is a chain of wrappers, the oldest patch innermost; whenever a patch is
undone, in any order and from any thread, the chain of those still
applied is rebuilt from the original and installed in its place, and the
original comes back when the last one is undone.  A call already running
through the old chain passes straight through an undone patch it has not
reached yet.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import wrapt

from ._errors import PatchError

__all__ = ["Patch", "apply_patch", "resolve_path"]

Wrapper = Callable[[Any, Any, tuple, dict], Any]
#: ``direct(original, on, method, alone)``: makes the function installed in place of a plain
#: function, which calls ``original`` (unbound: for a method the instance is its first argument)
#: and passes straight through to it once the list ``on`` is empty; ``alone``: no other patch of
#: the attribute wraps it, so nothing else looks for frames running ``original``'s code.
Direct = Callable[[Any, list, bool, bool], Callable[..., Any]]

_MISSING = object()
_REGISTRY: dict[tuple[int, str], _Slot] = {}
_REGISTRY_LOCK = threading.RLock()


def _describe(obj: Any) -> str:
    if isinstance(obj, (type, types.ModuleType)):
        return obj.__name__
    return f"{type(obj).__name__} instance at {id(obj):#x}"


def _raw_lookup(target: Any, attribute: str) -> Any:
    if isinstance(target, type):
        # vars() along the MRO, never getattr(): getattr on a class binds
        # classmethods to that class and unwraps staticmethods, so putting
        # its result back would change the kind of attribute.
        for klass in target.__mro__:
            if attribute in vars(klass):
                return vars(klass)[attribute]
        return _MISSING
    own = getattr(target, "__dict__", None)
    if own is not None and attribute in own:
        return own[attribute]
    if isinstance(target, types.ModuleType):
        return _MISSING
    return _raw_lookup(type(target), attribute)


def _resolve_parent(target: Any, name: str) -> tuple[Any, str]:
    if isinstance(target, str):
        target = importlib.import_module(target)
    if not isinstance(name, str) or not name:
        raise TypeError(f"attribute name must be a non-empty str, got {name!r}")
    *path, attribute = name.split(".")
    parent = target
    for part in path:
        try:
            parent = getattr(parent, part)
        except AttributeError:
            raise AttributeError(f"{_describe(parent)} has no attribute {part!r} "
                                 f"(resolving {name!r})") from None
    return parent, attribute


def _lookup_untraced(parent: Any, attribute: str, name: str) -> Any:
    # Callers hold _REGISTRY_LOCK, so no patch goes on or comes off meanwhile.
    slot = _REGISTRY.get((id(parent), attribute))
    original = slot.original if slot is not None and slot.live() else _raw_lookup(parent, attribute)
    if original is _MISSING:
        raise AttributeError(f"{_describe(parent)} has no attribute {attribute!r} to trace "
                             f"(resolving {name!r})")
    return original


def resolve_path(target: Any, name: str) -> tuple[Any, str, Any]:
    """Find ``(parent, attribute, original)`` for ``target`` and a dotted ``name``.

    ``target`` is a class, an instance, a module or a module's import name.
    ``original`` is the raw object as stored (a classmethod object, a
    property...), never a bound method; while tracehooks has the attribute
    patched, it is the object found before the first patch, not a wrapper.

    Example:
        >>> class Demo:
        ...     @classmethod
        ...     def make(cls):
        ...         return cls()
        >>> parent, attribute, original = resolve_path(Demo, "make")
        >>> attribute, type(original).__name__
        ('make', 'classmethod')
    """
    parent, attribute = _resolve_parent(target, name)
    with _REGISTRY_LOCK:
        return parent, attribute, _lookup_untraced(parent, attribute, name)


def _own_value(parent: Any, attribute: str) -> Any:
    own = vars(parent) if isinstance(parent, type) else parent.__dict__
    return own.get(attribute, _MISSING)


def _install(parent: Any, attribute: str, value: Any) -> None:
    if isinstance(parent, type):
        if value is _MISSING:
            delattr(parent, attribute)
        else:
            setattr(parent, attribute, value)
    elif value is _MISSING:
        # The instance/module dict directly: a custom __setattr__ or a data
        # descriptor of the class must not see (or transform) the restore.
        del parent.__dict__[attribute]
    else:
        parent.__dict__[attribute] = value


def _getter_adapter(wrapper: Wrapper) -> Wrapper:
    # property calls fget(obj) directly, so wrapt sees no instance; hand the
    # wrapper the usual (bound callable, instance) pair instead.
    def adapter(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        obj = args[0]
        return wrapper(types.MethodType(wrapped, obj), obj, args[1:], kwargs)

    return adapter


def _innermost(parent: Any, attribute: str, original: Any, inherited: bool) -> Any:
    """Check that the attribute can be traced; return what the first wrapper wraps."""
    where = f"{_describe(parent)}.{attribute}"
    per_instance = not isinstance(parent, (type, types.ModuleType))
    if isinstance(original, property):
        if per_instance and inherited:
            raise TypeError(f"{where} is a property of the class; a property cannot be traced "
                            f"per instance, trace {type(parent).__name__} instead")
        if original.fget is None:
            raise TypeError(f"{where} is a property without a getter; nothing to trace")
        return original
    if per_instance and inherited:
        if hasattr(type(original), "__set__") or hasattr(type(original), "__delete__"):
            raise TypeError(f"{where} is a data descriptor ({type(original).__name__}) of the "
                            "class and cannot be traced per instance")
        # Bind it exactly as attribute access on the instance would.
        return getattr(parent, attribute)
    if not (callable(original) or isinstance(original, (classmethod, staticmethod))):
        raise TypeError(f"{where} is a {type(original).__name__}, not a function, method, "
                        "classmethod, staticmethod or property; nothing to trace")
    return original


def _wrap(value: Any, patch: Patch, parent: Any, alone: bool) -> Any:
    wrapper, on = patch.wrapper, patch._on
    if isinstance(value, property):
        return value.getter(wrapt.FunctionWrapper(value.fget, _getter_adapter(wrapper),
                                                  enabled=on.__len__))
    if type(value) is types.FunctionType and isinstance(parent, (type, types.ModuleType)):
        # A plain function in place of a plain function: binding stays CPython's own fast path.
        # A wrapt proxy costs about 0.4 us a call more (its descriptor builds a bound wrapper at
        # every attribute access, the wrapper then binds the function again), more than half of
        # what tracing a short method may cost.
        make = patch.direct or functools.partial(_function_wrapper, wrapper)
        installed = _eager_under_compile(make(value, on, isinstance(parent, type), alone), value)
        return functools.update_wrapper(installed, value)
    return wrapt.FunctionWrapper(value, wrapper, enabled=on.__len__)


def _eager_under_compile(installed: Callable[..., Any], original: Any) -> Callable[..., Any]:
    """With torch loaded: a call reached from ``torch.compile``'d code runs eagerly (a graph break).

    Otherwise dynamo would compile the traced function's frame and run other code in its place,
    whose locals no trace can read.  Compiled with ``fullgraph=True``, the call fails with
    dynamo's error, which quotes the reason given here.
    """
    compiler = getattr(sys.modules.get("torch"), "compiler", None)
    if not (hasattr(compiler, "disable") and hasattr(compiler, "is_compiling")):
        return installed
    reason = (f"tracehooks traces {getattr(original, '__qualname__', original)} and runs it "
              "eagerly, a graph break; compile without fullgraph=True while the trace is on")
    try:
        eager = compiler.disable(installed, reason=reason)
    except TypeError:  # torch before 2.8 gives no reason
        eager = compiler.disable(installed)
    is_compiling = compiler.is_compiling

    def gate(*args: Any, **kwargs: Any) -> Any:
        if is_compiling():
            return eager(*args, **kwargs)
        return installed(*args, **kwargs)

    return gate


def _function_wrapper(wrapper: Wrapper, original: types.FunctionType, on: list[bool],
                      method: bool, alone: bool) -> Callable[..., Any]:
    """The function calling ``wrapper`` as wrapt would: for a function stored on a class, the
    instance is the first argument (however the function was reached), ``wrapped`` is bound to it."""
    if method:
        def traced(*args: Any, **kwargs: Any) -> Any:
            # A method reached with no argument at all fails in the original, with its message.
            if on and args:
                instance = args[0]
                return wrapper(types.MethodType(original, instance), instance, args[1:], kwargs)
            return original(*args, **kwargs)
    else:
        def traced(*args: Any, **kwargs: Any) -> Any:
            if on:
                return wrapper(original, None, args, kwargs)
            return original(*args, **kwargs)
    return traced


class _Slot:
    """One patched attribute: what to restore, read once, and the patches applied to it.

    Every method runs with ``_REGISTRY_LOCK`` held.
    """

    __slots__ = ("parent", "attribute", "original", "restore", "innermost", "patches", "installed")

    def __init__(self, parent: Any, attribute: str, name: str) -> None:
        self.parent = parent
        self.attribute = attribute
        self.original = _lookup_untraced(parent, attribute, name)
        self.restore = _own_value(parent, attribute)
        self.innermost = _innermost(parent, attribute, self.original, self.restore is _MISSING)
        self.patches: list[Patch] = []
        self.installed: Any = _MISSING

    @property
    def key(self) -> tuple[int, str]:
        return (id(self.parent), self.attribute)

    def live(self) -> bool:
        """True while the chain installed last is still what the owner holds."""
        return (self.installed is not _MISSING
                and _own_value(self.parent, self.attribute) is self.installed)

    def add(self, patch: Patch) -> None:
        self.patches.append(patch)
        try:
            self._install_chain()
        except BaseException:
            self.patches.remove(patch)
            raise
        _REGISTRY[self.key] = self

    def remove(self, patch: Patch) -> None:
        self.patches.remove(patch)
        if not self.live():
            if _REGISTRY.get(self.key) is self:
                del _REGISTRY[self.key]
            current = _own_value(self.parent, self.attribute)
            raise PatchError(f"{_describe(self.parent)}.{self.attribute} was replaced by "
                             f"{current!r} while traced; the trace wrapper is disabled and the "
                             "attribute left as found")
        if not self.patches:
            del _REGISTRY[self.key]
            _install(self.parent, self.attribute, self.restore)
            self.installed = _MISSING
            return
        self._install_chain()

    def _install_chain(self) -> None:
        value = self.innermost
        for patch in self.patches:
            # Rebuilt whole at each change: a patch is alone again once the others are undone.
            value = _wrap(value, patch, self.parent, alone=len(self.patches) == 1)
        _install(self.parent, self.attribute, value)
        self.installed = value


class Patch:
    """Handle on one applied patch; ``undo()`` restores (also usable as ``with``).

    Example:
        >>> import math
        >>> calls = []
        >>> def spy(wrapped, instance, args, kwargs):
        ...     calls.append(args)
        ...     return wrapped(*args, **kwargs)
        >>> with apply_patch(math, "hypot", spy):
        ...     math.hypot(3, 4)
        5.0
        >>> calls, math.hypot(6, 8)
        ([(3, 4)], 10.0)
    """

    def __init__(self, slot: _Slot, wrapper: Wrapper, direct: Direct | None = None) -> None:
        self.parent = slot.parent
        self.attribute = slot.attribute
        self.original = slot.original
        self.wrapper = wrapper
        self.direct = direct
        self._on: list[bool] = [True]
        self._slot: _Slot | None = slot

    def __repr__(self) -> str:
        state = "active" if self.active else "undone"
        return f"<Patch {_describe(self.parent)}.{self.attribute} {state}>"

    @property
    def active(self) -> bool:
        """True until ``undo()`` (or ``disable()``) ran.

        Example:
            >>> import math
            >>> patch = apply_patch(math, "floor", lambda w, i, a, k: w(*a, **k))
            >>> patch.active, patch.undo(), patch.active
            (True, None, False)
        """
        return bool(self._on)

    def disable(self) -> None:
        """Turn the wrapper into a pass-through without restoring yet.

        Example:
            >>> import math
            >>> patch = apply_patch(math, "ceil", lambda w, i, a, k: 0)
            >>> patch.disable(); math.ceil(1.5)
            2
            >>> patch.undo()
        """
        self._on.clear()

    def undo(self) -> None:
        """Take this patch off (idempotent, any order, any thread); see the module docstring.

        Raises PatchError if something other than tracehooks replaced the
        attribute meanwhile; the patch is then disabled and the attribute
        left as found.

        Example:
            >>> import math
            >>> original = vars(math)["sqrt"]
            >>> apply_patch(math, "sqrt", lambda w, i, a, k: w(*a, **k)).undo()
            >>> vars(math)["sqrt"] is original
            True
        """
        with _REGISTRY_LOCK:
            slot, self._slot = self._slot, None
            if slot is None:
                return
            self.disable()
            slot.remove(self)

    def __enter__(self) -> Patch:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.undo()


def apply_patch(target: Any, name: str, wrapper: Wrapper, *, direct: Direct | None = None) -> Patch:
    """Replace ``target.name`` with a wrapper calling ``wrapper`` (or ``direct``).

    ``wrapper(wrapped, instance, args, kwargs)`` receives a callable that is
    already bound (call it as ``wrapped(*args, **kwargs)``) and the instance
    (the class for a classmethod, None for a staticmethod or function).
    Properties are traced through their getter.  Safe to call from several
    threads at once, on the same attribute or not.

    A plain Python function stored on a class or module is replaced by a
    plain function (everything else by a ``wrapt.FunctionWrapper``); for
    those, ``direct(original, on, method, alone)``, when given, makes that function
    instead: it calls the unbound ``original`` with all the arguments
    (``method``: the function lives on a class, the instance comes first)
    and passes straight through once the list ``on`` is empty, which saves
    binding the function anew and a call layer at every call.

    Example:
        >>> class Box:
        ...     def area(self):
        ...         return 6
        >>> with apply_patch(Box, "area", lambda w, i, a, k: w(*a, **k) * 10):
        ...     Box().area()
        60
        >>> "area" in vars(Box), Box().area()
        (True, 6)
    """
    parent, attribute = _resolve_parent(target, name)
    if not isinstance(parent, type) and not hasattr(parent, "__dict__"):
        raise TypeError(f"{_describe(parent)} has no __dict__ (it uses __slots__); trace "
                        f"{type(parent).__name__}.{attribute} on the class instead")
    with _REGISTRY_LOCK:
        # What to restore is read here, under the lock that installs wrappers:
        # read outside it, it could be another thread's wrapper.
        slot = _REGISTRY.get((id(parent), attribute))
        if slot is None or not slot.live():
            # A slot whose chain was replaced from outside is left to its
            # patches, whose undo() reports it; start afresh from what is there.
            slot = _Slot(parent, attribute, name)
        patch = Patch(slot, wrapper, direct)
        slot.add(patch)
    return patch
