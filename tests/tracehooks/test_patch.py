"""Patching: path resolution, exact restore for every attribute kind, nesting order."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracehooks import PatchError, apply_patch, resolve_path, trace


def make_world() -> types.SimpleNamespace:
    """Fresh classes, module and instances, so that no test sees another's patches."""
    class Base:
        def method(self, x):
            return ("method", x)

        @classmethod
        def cmethod(cls, x):
            return ("cmethod", cls.__name__, x)

        @staticmethod
        def smethod(x):
            return ("smethod", x)

        @property
        def prop(self):
            return ("prop", type(self).__name__)

        def inherited(self, x):
            return ("inherited", x)

        @classmethod
        def cinherited(cls, x):
            return ("cinherited", cls.__name__, x)

        def imethod(self, x):
            return ("imethod", x)

    class Child(Base):
        pass

    def func(x):
        return ("func", x)

    module = types.ModuleType("fake_module")
    module.func = func
    instance = Base()
    hooked = Base()
    hooked.hook = lambda x: ("hook", x)
    return types.SimpleNamespace(Base=Base, Child=Child, module=module, instance=instance,
                                 hooked=hooked)


@dataclass(frozen=True)
class Kind:
    label: str
    owner: Callable[[Any], Any]
    name: str
    call: Callable[[Any], Any]
    expected: Any


KINDS = [
    Kind("method", lambda w: w.Base, "method", lambda w: w.Base().method(1), ("method", 1)),
    Kind("classmethod", lambda w: w.Base, "cmethod", lambda w: w.Child.cmethod(2),
         ("cmethod", "Child", 2)),
    Kind("staticmethod", lambda w: w.Base, "smethod", lambda w: w.Base().smethod(3),
         ("smethod", 3)),
    Kind("property", lambda w: w.Base, "prop", lambda w: w.Child().prop, ("prop", "Child")),
    Kind("module function", lambda w: w.module, "func", lambda w: w.module.func(4), ("func", 4)),
    Kind("inherited method", lambda w: w.Child, "inherited", lambda w: w.Child().inherited(5),
         ("inherited", 5)),
    Kind("inherited classmethod", lambda w: w.Child, "cinherited",
         lambda w: w.Child.cinherited(6), ("cinherited", "Child", 6)),
    Kind("instance method", lambda w: w.instance, "imethod", lambda w: w.instance.imethod(7),
         ("imethod", 7)),
    Kind("instance attribute", lambda w: w.hooked, "hook", lambda w: w.hooked.hook(8), ("hook", 8)),
]


def state(world: types.SimpleNamespace) -> dict[str, dict[str, int]]:
    """Identity of every entry of every owner's __dict__."""
    owners = {"Base": world.Base, "Child": world.Child, "module": world.module,
              "instance": world.instance, "hooked": world.hooked}
    return {label: {key: id(value) for key, value in vars(owner).items()}
            for label, owner in owners.items()}


def result_emitter(lines: list[str], tag: str = "r") -> dict[str, Any]:
    """Options for trace() that print each call's result to ``lines``."""
    return {"emit": {tag: lambda call: call.result[0]}, "sink": lines}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.label)
def test_trace_wraps_and_restores_on_normal_exit(kind):
    """Each attribute kind is traced inside the block and restored exactly after it."""
    world = make_world()
    before = state(world)
    lines: list[str] = []
    with trace(kind.owner(world), kind.name, **result_emitter(lines)):
        inside = kind.call(world)
    assert (inside, lines, state(world)) == (kind.expected, [f"TRACE_PY: r {kind.expected[0]}"], before)
    assert kind.call(world) == kind.expected


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.label)
def test_restore_after_exception_in_block(kind, error):
    """An exception or KeyboardInterrupt in the with block still restores exactly."""
    world = make_world()
    before = state(world)
    with pytest.raises(error):
        with trace(kind.owner(world), kind.name, **result_emitter([])):
            kind.call(world)
            raise error()
    assert state(world) == before


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.label)
def test_restore_after_exception_in_traced_call(kind):
    """A traced call that raises leaves the attribute restored after the block."""
    world = make_world()
    before = state(world)

    def explode(wrapped, instance, args, kwargs):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with apply_patch(kind.owner(world), kind.name, explode):
            kind.call(world)
    assert state(world) == before


def test_resolve_path_returns_raw_descriptors():
    """resolve_path gives the stored classmethod/staticmethod/property objects, never bound ones."""
    world = make_world()
    found = [type(resolve_path(world.Base, name)[2]).__name__ for name in ("cmethod", "smethod", "prop")]
    assert found == ["classmethod", "staticmethod", "property"]


def test_resolve_path_inherited_method_names_the_subclass_as_parent():
    """For an inherited method the parent is the class asked for, the original the base's function."""
    world = make_world()
    parent, attribute, original = resolve_path(world.Child, "method")
    assert (parent, attribute, original) == (world.Child, "method", vars(world.Base)["method"])


def test_resolve_path_dotted_name_and_module_string():
    """A module import name and a dotted attribute path are resolved."""
    parent, attribute, original = resolve_path("json", "JSONDecoder.decode")
    import json

    assert (parent, attribute, original) == (json.JSONDecoder, "decode", vars(json.JSONDecoder)["decode"])


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.label)
def test_resolve_path_while_traced_gives_the_untraced_object(kind):
    """While an attribute is traced, resolve_path returns what was there before, not a wrapper."""
    world = make_world()
    before = resolve_path(kind.owner(world), kind.name)
    with trace(kind.owner(world), kind.name, **result_emitter([])):
        with trace(kind.owner(world), kind.name, **result_emitter([])):
            during = resolve_path(kind.owner(world), kind.name)
    assert during[2] is before[2]


def test_unknown_attribute_names_target_and_name():
    """An unknown attribute raises AttributeError naming the target and the attribute."""
    world = make_world()
    with pytest.raises(AttributeError, match=r"Base has no attribute 'nope' to trace"):
        resolve_path(world.Base, "nope")


def test_unknown_intermediate_attribute():
    """A missing middle component of a dotted path is named in the AttributeError."""
    with pytest.raises(AttributeError, match=r"json has no attribute 'Nope' \(resolving 'Nope.x'\)"):
        resolve_path("json", "Nope.x")


@pytest.mark.parametrize("kind, instance_seen", [
    (KINDS[0], "object"), (KINDS[1], "class"), (KINDS[2], None), (KINDS[3], "object"),
    (KINDS[4], None), (KINDS[7], "object"),
], ids=lambda v: getattr(v, "label", str(v)))
def test_wrapper_receives_instance_per_kind(kind, instance_seen):
    """The wrapper's instance is the object, the class (classmethod) or None."""
    world = make_world()
    seen: list[Any] = []

    def spy(wrapped, instance, args, kwargs):
        seen.append(instance)
        return wrapped(*args, **kwargs)

    with apply_patch(kind.owner(world), kind.name, spy):
        kind.call(world)
    kinds = {None: None, "class": type, "object": object}
    assert seen[0] is None if instance_seen is None else isinstance(seen[0], kinds[instance_seen])


def test_nested_traces_unwind_lifo():
    """Two traces on one method both print, inner first, and unwind to the original."""
    world = make_world()
    before = state(world)
    lines: list[str] = []
    with trace(world.Base, "method", **result_emitter(lines, "outer")):
        with trace(world.Base, "method", **result_emitter(lines, "inner")):
            world.Base().method(1)
        world.Base().method(2)
    assert (lines, state(world)) == (
        ["TRACE_PY: outer method", "TRACE_PY: inner method", "TRACE_PY: outer method"], before)


def test_out_of_order_undo_stops_that_trace_and_restores_at_the_end():
    """Undoing the first of two patches disables it at once; the last undo restores the original."""
    world = make_world()
    before = state(world)
    lines: list[str] = []
    first = trace(world.Base, "method", **result_emitter(lines, "first")).start()
    second = trace(world.Base, "method", **result_emitter(lines, "second")).start()
    first.undo()
    world.Base().method(1)
    second.undo()
    assert (lines, state(world)) == (["TRACE_PY: second method"], before)


def test_foreign_replacement_raises_patch_error():
    """If something else replaced the attribute, undo raises PatchError and leaves it."""
    world = make_world()
    patch = apply_patch(world.module, "func", lambda w, i, a, k: w(*a, **k))
    world.module.func = print
    with pytest.raises(PatchError, match=r"fake_module.func was replaced by .* while traced"):
        patch.undo()
    assert (world.module.func, patch.active) == (print, False)


def test_foreign_replacement_under_two_patches_raises_for_each():
    """Each undo of a replaced attribute raises; a later patch wraps the replacement."""
    world = make_world()
    first = apply_patch(world.module, "func", lambda w, i, a, k: w(*a, **k))
    second = apply_patch(world.module, "func", lambda w, i, a, k: w(*a, **k))
    world.module.func = abs
    third = apply_patch(world.module, "func", lambda w, i, a, k: w(*a, **k) + 1)
    assert world.module.func(-2) == 3
    third.undo()
    for patch in (first, second):
        with pytest.raises(PatchError, match=r"func was replaced by <built-in function abs>"):
            patch.undo()
    assert (world.module.func, first.active, second.active) == (abs, False, False)


def test_property_cannot_be_traced_per_instance():
    """Tracing a class property through an instance raises TypeError pointing to the class."""
    world = make_world()
    with pytest.raises(TypeError, match=r"Base instance at .*\.prop is a property of the class; "
                                        r"a property cannot be traced per instance, trace Base"):
        apply_patch(world.instance, "prop", lambda w, i, a, k: w(*a, **k))


def test_non_callable_attribute_is_rejected():
    """A plain data attribute cannot be traced: TypeError naming its type."""
    world = make_world()
    world.module.value = 3
    with pytest.raises(TypeError, match=r"fake_module.value is a int, not a function"):
        apply_patch(world.module, "value", lambda w, i, a, k: w(*a, **k))


def test_slots_instance_is_rejected():
    """An instance without __dict__ cannot be patched: TypeError suggesting the class."""
    class Slotted:
        __slots__ = ()

        def method(self):
            return 1

    with pytest.raises(TypeError, match=r"has no __dict__ \(it uses __slots__\); trace Slotted.method"):
        apply_patch(Slotted(), "method", lambda w, i, a, k: w(*a, **k))


def test_undo_is_idempotent():
    """A second undo() changes nothing and raises nothing."""
    world = make_world()
    before = state(world)
    patch = apply_patch(world.Base, "method", lambda w, i, a, k: w(*a, **k))
    patch.undo()
    patch.undo()
    assert state(world) == before


operations = st.lists(st.tuples(st.booleans(), st.integers(0, len(KINDS) - 1), st.integers(0, 7)),
                      max_size=14)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_random_trace_sequences_always_restore(ops):
    """Random nesting and out-of-order undos over all kinds keep behaviour and restore exactly."""
    world = make_world()
    before = state(world)
    open_traces: list[tuple[Any, list[str]]] = []
    closed_lines: list[list[str]] = []
    for opening, kind_index, position in ops:
        if opening or not open_traces:
            lines: list[str] = []
            kind = KINDS[kind_index]
            open_traces.append((trace(kind.owner(world), kind.name, **result_emitter(lines)).start(),
                                lines))
        else:
            handle, lines = open_traces.pop(position % len(open_traces))
            handle.undo()
            closed_lines.append(lines)
        for _, lines in open_traces + [(None, lines) for lines in closed_lines]:
            lines.clear()
        assert [kind.call(world) for kind in KINDS] == [kind.expected for kind in KINDS]
        # Each kind is called once: every open trace printed one line, every closed one none.
        assert [len(lines) for _, lines in open_traces] == [1] * len(open_traces)
        assert [len(lines) for lines in closed_lines] == [0] * len(closed_lines)
    for handle, _ in reversed(open_traces):
        handle.undo()
    assert state(world) == before
