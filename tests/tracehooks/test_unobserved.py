"""A call whose frame cannot be observed (compiled code, a callable that runs other code) warns, never prints
nothing silently; a function run by torch.compile'd code is run eagerly while traced, or fails with the reason."""

from __future__ import annotations

import pytest

from tracehooks import TraceWarning, trace


def real(x):
    y = x * 2
    return y


class Shim:
    """Claims to wrap ``real`` (``__wrapped__``) but runs other code, as a compiled replacement does."""

    __wrapped__ = staticmethod(real)

    def __call__(self, x):
        return x * 2


def test_unobserved_frame_warns_that_locals_cannot_be_read():
    """locals= of a call whose code never ran as a frame: a TraceWarning says why, naming the code."""
    holder = type("Holder", (), {"work": Shim()})
    lines: list[str] = []
    where = rf"test_unobserved.py:{real.__code__.co_firstlineno}"
    with pytest.warns(TraceWarning, match=r"the locals of Holder.work could not be read: no frame running "
                                          rf"its code \(.*{where}\) was seen") as seen:
        with trace(holder, "work", locals=["y"], sink=lines):
            assert holder.work(3) == 6
    assert lines == []
    assert seen[0].filename == __file__  # reported where the traced function was called


def _net(torch):
    class Net(torch.nn.Module):
        def forward(self, x):
            y = x * 2
            return y + 1

    return Net


@pytest.mark.slow
def test_module_under_torch_compile_runs_eagerly_while_traced(torch):
    """A compiled module's forward, traced: the traced call breaks the graph and runs eagerly, so its
    locals print (once per call, compiled or not), and the compiled module still computes the same."""
    Net = _net(torch)
    compiled = torch.compile(Net(), backend="eager")
    lines: list[str] = []
    try:
        with trace(Net, "forward", locals=["y"], sink=lines):
            first = compiled(torch.ones(2))
            second = compiled(torch.full((2,), 3.0))
        assert lines == ["TRACE_PY: y 2 2", "TRACE_PY: y 6 6"]
        assert first.tolist() == [3.0, 3.0] and second.tolist() == [7.0, 7.0]
        # Once the trace is undone the module compiles whole again and prints nothing.
        assert compiled(torch.ones(2)).tolist() == [3.0, 3.0]
        assert len(lines) == 2
    finally:
        torch._dynamo.reset()


@pytest.mark.slow
def test_fullgraph_compile_of_a_traced_module_fails_with_the_reason(torch):
    """fullgraph=True allows no graph break: the call fails, and the error names the trace and what to do."""
    Net = _net(torch)
    compiled = torch.compile(Net(), backend="eager", fullgraph=True)
    try:
        with trace(Net, "forward", locals=["y"], sink=[]):
            with pytest.raises(Exception, match=r"(?s)tracehooks traces .*Net.forward.*"
                                                r"compile without fullgraph=True"):
                compiled(torch.ones(2))
    finally:
        torch._dynamo.reset()
