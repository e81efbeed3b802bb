"""A call whose frame cannot be observed (compiled code, a callable that runs other code) warns, never prints nothing silently."""

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
    with pytest.warns(TraceWarning, match=r"the locals of Holder.work could not be read: no frame running "
                                          r"its code \(.*test_unobserved.py:10\) was seen"):
        with trace(holder, "work", locals=["y"], sink=lines):
            assert holder.work(3) == 6
    assert lines == []


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Dynamo does not know how to trace:UserWarning")
def test_module_under_torch_compile_warns(torch):
    """A module's forward under torch.compile: the trace warns that its locals cannot be read."""

    class Net(torch.nn.Module):
        def forward(self, x):
            y = x * 2
            return y + 1

    compiled = torch.compile(Net(), backend="eager")
    try:
        with pytest.warns(TraceWarning, match=r"the locals of .*Net.forward could not be read"):
            with trace(Net, "forward", locals=["y"], sink=[]):
                compiled(torch.ones(2))
    finally:
        torch._dynamo.reset()
