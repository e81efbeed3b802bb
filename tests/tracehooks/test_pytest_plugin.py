"""The pytest plugin: trace_check records traced lines and compares them with a reference or a baseline."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TEST_MODULE = """
import math

def ratio(a, b):
    r = a / b
    return r

class Holder:
    ratio = staticmethod(ratio)

def test_ratio(trace_check):
    with trace_check.trace(Holder, "ratio", locals=["r"]):
        Holder.ratio(1.0, {divisor})
    {compare}
"""


def write_test(pytester, divisor="4.0", compare='trace_check.against("c.log")'):
    pytester.makepyfile(test_traced=TEST_MODULE.format(divisor=divisor, compare=compare))


def test_matching_trace_passes(pytester):
    """The traced lines equal the reference's values by name: the test passes."""
    pytester.path.joinpath("c.log").write_text("TRACE_C: r 0.25\n")
    write_test(pytester)
    pytester.runpytest("-p", "tracehooks.pytest_plugin").assert_outcomes(passed=1)


def test_divergence_fails_with_the_first_divergence_report(pytester):
    """A divergence fails the test; the message is the diff's report naming the first divergence."""
    pytester.path.joinpath("c.log").write_text("TRACE_C: r 0.25\n")
    write_test(pytester, divisor="5.0")
    result = pytester.runpytest("-p", "tracehooks.pytest_plugin")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: the traced lines diverge from c.log:*",
                                 "*DIVERGE: first at r (occurrence 1, C line 1, Py line 1): C 0.25 vs Py 0.2*"])


def test_ini_tolerance_applies(pytester):
    """tracehooks_rtol in the ini file sets the relative tolerance of every comparison."""
    pytester.path.joinpath("c.log").write_text("TRACE_C: r 0.2501\n")
    pytester.makeini("[pytest]\ntracehooks_rtol = 1e-3\n")
    write_test(pytester)
    pytester.runpytest("-p", "tracehooks.pytest_plugin").assert_outcomes(passed=1)


def test_baseline_is_written_by_update_then_compared(pytester):
    """No baseline: the test fails and says how to write one; --tracehooks-update writes it; it then compares."""
    write_test(pytester, compare='trace_check.baseline("baselines/ratio.log")')
    missing = pytester.runpytest("-p", "tracehooks.pytest_plugin")
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*no trace baseline at baselines/ratio.log; run pytest --tracehooks-update*"])
    pytester.runpytest("-p", "tracehooks.pytest_plugin", "--tracehooks-update").assert_outcomes(passed=1)
    assert pytester.path.joinpath("baselines/ratio.log").read_text() == "TRACE_PY: r 0.25\n"
    pytester.runpytest("-p", "tracehooks.pytest_plugin").assert_outcomes(passed=1)
    write_test(pytester, divisor="8.0", compare='trace_check.baseline("baselines/ratio.log")')
    pytester.runpytest("-p", "tracehooks.pytest_plugin").assert_outcomes(failed=1)


def test_plugin_loads_from_a_test_module(pytester):
    """pytest_plugins = ["tracehooks.pytest_plugin"] in a test module gives the fixture, with the defaults."""
    pytester.path.joinpath("c.log").write_text("TRACE_C: r 0.25\n")
    pytester.makepyfile(test_traced='pytest_plugins = ["tracehooks.pytest_plugin"]\n'
                        + TEST_MODULE.format(divisor="4.0", compare='trace_check.against("c.log")'))
    pytester.runpytest().assert_outcomes(passed=1)


def test_trace_check_refuses_a_sink():
    """trace_check.trace() records into its lines: a sink= is a TypeError."""
    from tracehooks.pytest_plugin import TraceCheck

    with pytest.raises(TypeError, match=r"sink= is not accepted"):
        with TraceCheck().trace(pytest, "fail", sink=[]):
            pass
