"""The instrumented copy (``_instrument``) runs in place of a traced plain function: same results, same
lines printed, the original's file and line numbers for tracebacks and other tracers, and no copy at all
where it could differ from the original (the frame is then observed from outside, printing the same)."""

from __future__ import annotations

import importlib
import linecache
import sys
import traceback
import types

import numpy as np
import pytest

from tracehooks import trace
from tracehooks._instrument import LOCALS, _compiled, _definition, _scaffold, instrumented_copy

from . import instrumented_subjects as subjects
from .instrumented_subjects import Model


def _count(i, value, count):
    return count + 1


def test_the_copy_computes_what_the_original_computes_and_hands_over_its_locals():
    v = np.arange(3.0)
    made = instrumented_copy(Model.step, ("a", "b"), True, ("a", "c"), _count)
    result, values = made.function(Model(), v, 3.0, 7, offset=0.5, flag=True)
    assert made.returned == ("a", "c")
    assert result == Model().step(v, 3.0, 7, offset=0.5, flag=True) == 10.5
    assert values[0].tolist() == [0.0, 3.0, 6.0] and values[1] == 10.5


@pytest.mark.parametrize("function, args, names", [
    (Model.uses_super, (Model(), 5), ("text", "size")),      # zero-argument super(): the __class__ cell
    (Model.calls_private, (Model(), 5), ("z",)),              # self.__private: mangled as in class Model
    (subjects.outer(10.0)[0], (1.0,), ("w",)),                # closure cells k and z
    (subjects.outer(10.0)[1].method, (None, 1.0), ("w",)),    # a class inside a function
    (subjects.recursive, (3,), ("m",)),
    (subjects.cached.__wrapped__, (2,), ("y",)),
])
def test_a_copy_is_made_for_methods_closures_and_nested_classes(function, args, names):
    made = instrumented_copy(function, names, True, names, _count)
    assert made is not None
    result, values = made.function(*args)
    assert result == function(*args)
    assert made.function.__code__.co_filename == function.__code__.co_filename
    assert made.function.__code__.co_firstlineno == function.__code__.co_firstlineno


def test_a_local_not_bound_on_every_path_is_handed_over_with_every_local():
    made = instrumented_copy(Model.branches, (), True, ("late",), _count)
    assert made.returned == LOCALS
    result, final = made.function(Model(), False)
    assert "late" not in final and final["early"] == 1.5
    made = instrumented_copy(Model.branches, (), True, ("early", "first"), _count)
    assert made.returned == LOCALS  # `return late` comes before early is bound


@pytest.mark.parametrize("function", [
    subjects.walrus, subjects.deletes, subjects.handler, subjects.cell, subjects.generator,
    subjects.square, subjects.cached,
], ids=lambda f: getattr(f, "__name__", "lru_cache"))
def test_no_copy_of_what_the_rewriting_does_not_cover(function):
    assert instrumented_copy(function, ("a",), False, (), _count) is None


def test_no_copy_reads_the_locals_before_a_finally_block_ran():
    assert instrumented_copy(subjects.finally_return, (), True, ("a",), _count) is None
    assert instrumented_copy(subjects.finally_return, ("a",), False, (), _count) is not None


def test_no_copy_without_the_source_that_compiled_the_running_code(tmp_path, monkeypatch):
    namespace: dict = {}
    exec("def made(x):\n    y = x\n    return y\n", namespace)
    assert instrumented_copy(namespace["made"], ("y",), True, ("y",), _count) is None

    def rewritten(x):  # pytest rewrote this module's asserts: its code is not the source's
        y = x
        assert y is x
        return y

    assert instrumented_copy(rewritten, ("y",), True, ("y",), _count) is None

    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("kept_module", "edited_module"):
        (tmp_path / f"{name}.py").write_text("def f(x):\n    y = x * 2\n    return y\n")
    kept, module = (importlib.import_module(name) for name in ("kept_module", "edited_module"))
    path = tmp_path / "edited_module.py"
    path.write_text("def f(x):\n    y = x * 3\n    return y\n")  # edited since it was imported
    linecache.checkcache(str(path))
    assert instrumented_copy(kept.f, ("y",), True, ("y",), _count) is not None
    assert instrumented_copy(module.f, ("y",), True, ("y",), _count) is None
    with trace(module, "f", locals=["y"], sink=(lines := [])):
        assert module.f(1) == 2
    assert lines == ["TRACE_PY: y 2"]  # the running code's value, read from its frame


def test_the_copy_runs_while_traced_and_the_original_once_undone():
    original = Model.where.__code__
    with trace(Model, "where", locals=["depth"], sink=(lines := [])):
        running = Model().where()
    assert lines == ["TRACE_PY: depth 0"]
    assert running is not original and running.co_name == "where"
    assert Model().where() is original and Model.where.__code__ is original


@pytest.mark.parametrize("name, call, options, expected", [
    ("step", lambda m: m.step(np.arange(2.0)), {"watch": ["a", "b"], "locals": ["c"]},
     ["TRACE_PY: a 0 2", "TRACE_PY: b 1 3", "TRACE_PY: c 4"]),
    ("one_line", lambda m: m.one_line(1.5), {"watch": ["a"]}, ["TRACE_PY: a 3"]),
    ("same_object", lambda m: m.same_object(1.5), {"watch": ["a", "b"]}, ["TRACE_PY: a 3", "TRACE_PY: b 3"]),
    ("branches", lambda m: m.branches(False), {"watch": ["early", "i"]},  # 0.5 + 0 is another object
     ["TRACE_PY: early 0.5", "TRACE_PY: i 0", "TRACE_PY: early 0.5", "TRACE_PY: i 1", "TRACE_PY: early 1.5"]),
    ("branches", lambda m: m.branches(True), {"locals": ["late"]}, ["TRACE_PY: late 1.5"]),
    ("uses_super", lambda m: m.uses_super(7), {"watch": {"size": ("n",)}, "locals": ["text"]},
     ["TRACE_PY: n 6", "TRACE_PY: text base 7"]),
])
def test_the_fast_path_prints_what_the_frame_observer_prints(name, call, options, expected):
    """A per-instance trace takes the general path, which observes the frame; a class trace the copy."""
    by_copy: list[str] = []
    with trace(Model, name, sink=by_copy, **options):
        call(Model())
    by_frame: list[str] = []
    model = Model()
    with trace(model, name, sink=by_frame, **options):
        call(model)
    assert by_copy == by_frame == expected


@pytest.mark.parametrize("function, options, expected", [
    (subjects.walrus, {"watch": ["a", "b"]}, ["TRACE_PY: a 3", "TRACE_PY: b 3"]),
    (subjects.deletes, {"watch": ["a"]}, ["TRACE_PY: a 3", "TRACE_PY: a 4.5"]),
    (subjects.handler, {"locals": ["b"]}, ["TRACE_PY: b 1.5"]),
    (subjects.finally_return, {"locals": ["a"]}, ["TRACE_PY: a 3"]),
    (subjects.cell, {"watch": ["a"]}, ["TRACE_PY: a 1.5", "TRACE_PY: a 3"]),
    (subjects.recursive, {"watch": ["m"]},  # each call's lines as they happen, nested calls inside
     ["TRACE_PY: m 3", "TRACE_PY: m 1", "TRACE_PY: m -1", "TRACE_PY: m 0", "TRACE_PY: m 3"]),
])
def test_module_functions_print_their_values_with_or_without_a_copy(function, options, expected):
    lines: list[str] = []
    with trace(subjects, function.__name__, sink=lines, **options):
        getattr(subjects, function.__name__)(1.5)
    assert lines == expected


def test_a_traceback_through_the_copy_shows_the_original_file_line_and_text():
    def last_frame(call):
        with pytest.raises(IndexError) as caught:
            call()
        return traceback.extract_tb(caught.value.__traceback__)[-1]

    plain = last_frame(lambda: Model().raises(np.arange(2.0)))
    with trace(Model, "raises", watch=["a"], locals=["bad"], sink=[]):
        traced = last_frame(lambda: Model().raises(np.arange(2.0)))
    assert (traced.filename, traced.lineno, traced.line) == (plain.filename, plain.lineno, plain.line)
    assert traced.line == "bad = a[99]"


@pytest.mark.parametrize("options", [{"locals": ["c"]}, {"watch": ["a", "b"]}, {"locals": True}])
def test_another_tracer_sees_the_same_line_events_in_the_traced_method(options):
    """Coverage and debuggers follow file and line: the copy gives them the lines the original does."""
    path = Model.step.__code__.co_filename

    def events_of(call):
        seen: list[tuple[str, int]] = []

        def tracer(frame, event, arg):
            if frame.f_code.co_filename == path and frame.f_code.co_name == "step":
                seen.append((event, frame.f_lineno))
                return tracer
            return None

        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            call()
        finally:
            sys.settrace(previous)
        return seen

    plain = events_of(lambda: Model().step(np.arange(2.0)))
    with trace(Model, "step", sink=[], **options):
        traced = events_of(lambda: Model().step(np.arange(2.0)))
    assert traced == plain and ("line", Model.step.__code__.co_firstlineno + 2) in plain


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_a_monitoring_tool_sees_the_same_lines_in_the_traced_method():
    monitoring = sys.monitoring
    tool = next(i for i in range(6) if monitoring.get_tool(i) is None)
    path = Model.step.__code__.co_filename

    def lines_of(call):
        seen: list[int] = []

        def on_line(code, line):
            if code.co_filename == path and code.co_name == "step":
                seen.append(line)

        monitoring.use_tool_id(tool, "test")
        monitoring.register_callback(tool, monitoring.events.LINE, on_line)
        monitoring.set_events(tool, monitoring.events.LINE)
        try:
            call()
        finally:
            monitoring.set_events(tool, 0)
            monitoring.register_callback(tool, monitoring.events.LINE, None)
            monitoring.free_tool_id(tool)
        return seen

    plain = lines_of(lambda: Model().step(np.arange(2.0)))
    with trace(Model, "step", watch=["a", "b"], locals=["c"], sink=[]):
        traced = lines_of(lambda: Model().step(np.arange(2.0)))
    assert traced == plain and len(plain) == 4


def _functions_of(modules):
    for module in modules:
        for value in vars(module).values():
            owners = [value] if isinstance(value, type) and value.__module__ == module.__name__ else []
            candidates = [value] + [getattr(v, "__func__", v) for owner in owners for v in vars(owner).values()]
            for function in candidates:
                if isinstance(function, types.FunctionType) and function.__module__ == module.__name__:
                    yield function


def test_every_function_of_these_modules_is_copied_or_left_alone_without_error():
    """The recompile of each function defined in a source file equals its running code: the scaffold
    (nesting, mangling, closures, the module's imports and future flags) compiles as Python did."""
    import argparse, dataclasses, email.parser, json.decoder, logging  # noqa: E401
    import tracehooks._diff, tracehooks._format, tracehooks._patch, tracehooks._trace  # noqa: E401
    modules = [argparse, dataclasses, email.parser, json.decoder, logging, tracehooks._diff,
               tracehooks._format, tracehooks._patch, tracehooks._trace]
    copied = differs = 0
    for function in set(_functions_of(modules)):
        made = instrumented_copy(function, function.__code__.co_varnames[:2], True, (), _count)
        copied += made is not None
        found = _definition(function.__code__, function.__globals__)
        wrap = found and _scaffold(function.__qualname__, function.__code__, found[1])
        if wrap:
            differs += _compiled(wrap(found[0]), function.__code__) != function.__code__
    assert differs == 0 and copied > 300
