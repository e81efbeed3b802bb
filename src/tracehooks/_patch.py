"""Replace an attribute with a wrapt wrapper, and later put back exactly what was there.

Restoring exactly means: the very same object back in the owner's
``__dict__`` when the attribute lived there, or no entry at all when it
was inherited (or came from the class, for an instance).

Several patches of the same attribute form a stack.  Undoing them in
reverse order (LIFO) is the normal case.  Undoing one out of order is
handled too: that patch stops wrapping at once (its wrapper turns into a
pass-through) and the patch above it inherits what it must restore, so the
original comes back when the last patch of the attribute is undone.
"""

from __future__ import annotations

import importlib
import threading
import types
from collections.abc import Callable
from typing import Any

import wrapt

from ._errors import PatchError

__all__ = ["Patch", "apply_patch", "resolve_path"]

Wrapper = Callable[[Any, Any, tuple, dict], Any]

_MISSING = object()
_REGISTRY: dict[tuple[int, str], list[Patch]] = {}
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


def resolve_path(target: Any, name: str) -> tuple[Any, str, Any]:
    """Find ``(parent, attribute, original)`` for ``target`` and a dotted ``name``.

    ``target`` is a class, an instance, a module or a module's import name.
    ``original`` is the raw object as stored (a classmethod object, a
    property...), never a bound method.

    Example:
        >>> class Demo:
        ...     @classmethod
        ...     def make(cls):
        ...         return cls()
        >>> parent, attribute, original = resolve_path(Demo, "make")
        >>> attribute, type(original).__name__
        ('make', 'classmethod')
    """
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
    original = _raw_lookup(parent, attribute)
    if original is _MISSING:
        raise AttributeError(f"{_describe(parent)} has no attribute {attribute!r} to trace "
                             f"(resolving {name!r})")
    return parent, attribute, original


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


def _build(parent: Any, attribute: str, original: Any, wrapper: Wrapper, enabled: Any) -> Any:
    where = f"{_describe(parent)}.{attribute}"
    per_instance = not isinstance(parent, (type, types.ModuleType))
    inherited = _own_value(parent, attribute) is _MISSING
    if isinstance(original, property):
        if per_instance and inherited:
            raise TypeError(f"{where} is a property of the class; a property cannot be traced "
                            f"per instance, trace {type(parent).__name__} instead")
        if original.fget is None:
            raise TypeError(f"{where} is a property without a getter; nothing to trace")
        return original.getter(wrapt.FunctionWrapper(original.fget, _getter_adapter(wrapper),
                                                     enabled=enabled))
    if per_instance and inherited:
        if hasattr(type(original), "__set__") or hasattr(type(original), "__delete__"):
            raise TypeError(f"{where} is a data descriptor ({type(original).__name__}) of the "
                            "class and cannot be traced per instance")
        # Bind it exactly as attribute access on the instance would.
        original = getattr(parent, attribute)
    elif not (callable(original) or isinstance(original, (classmethod, staticmethod))):
        raise TypeError(f"{where} is a {type(original).__name__}, not a function, method, "
                        "classmethod, staticmethod or property; nothing to trace")
    return wrapt.FunctionWrapper(original, wrapper, enabled=enabled)


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

    def __init__(self, parent: Any, attribute: str, original: Any) -> None:
        self.parent = parent
        self.attribute = attribute
        self.original = original
        self.replacement: Any = None
        self._on: list[bool] = [True]
        self._restore = _own_value(parent, attribute)

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
        """Restore the attribute (idempotent); see the module docstring for order rules.

        Raises PatchError if something other than tracehooks replaced the
        attribute meanwhile; the patch is then disabled and left in place.

        Example:
            >>> import math
            >>> original = vars(math)["sqrt"]
            >>> apply_patch(math, "sqrt", lambda w, i, a, k: w(*a, **k)).undo()
            >>> vars(math)["sqrt"] is original
            True
        """
        with _REGISTRY_LOCK:
            key = (id(self.parent), self.attribute)
            stack = _REGISTRY.get(key, [])
            if self not in stack:
                return
            self.disable()
            index = stack.index(self)
            del stack[index]
            if not stack:
                del _REGISTRY[key]
            if index < len(stack):
                stack[index]._restore = self._restore
                return
            current = _own_value(self.parent, self.attribute)
            if current is not self.replacement:
                raise PatchError(f"{_describe(self.parent)}.{self.attribute} was replaced by "
                                 f"{current!r} while traced; the trace wrapper is disabled and the "
                                 "attribute left as found")
            _install(self.parent, self.attribute, self._restore)

    def __enter__(self) -> Patch:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.undo()


def apply_patch(target: Any, name: str, wrapper: Wrapper) -> Patch:
    """Replace ``target.name`` with ``wrapt.FunctionWrapper(original, wrapper)``.

    ``wrapper(wrapped, instance, args, kwargs)`` receives a callable that is
    already bound (call it as ``wrapped(*args, **kwargs)``) and the instance
    (the class for a classmethod, None for a staticmethod or function).
    Properties are traced through their getter.

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
    parent, attribute, original = resolve_path(target, name)
    if not isinstance(parent, type) and not hasattr(parent, "__dict__"):
        raise TypeError(f"{_describe(parent)} has no __dict__ (it uses __slots__); trace "
                        f"{type(parent).__name__}.{attribute} on the class instead")
    patch = Patch(parent, attribute, original)
    patch.replacement = _build(parent, attribute, original, wrapper, patch._on.__len__)
    with _REGISTRY_LOCK:
        _install(parent, attribute, patch.replacement)
        _REGISTRY.setdefault((id(parent), attribute), []).append(patch)
    return patch
