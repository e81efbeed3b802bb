"""The json style: one JSON object a line with the exact values, read by the parser and the diff."""

from __future__ import annotations

import json
import math
import threading

import tracehooks
from tracehooks import diff_traces, parse_trace, trace
from tracehooks._cli import main as cli_main


class Detector:
    def compute(self, distance):
        Fclose = distance * 3
        return Fclose


def traced_json(*distances):
    lines: list[str] = []
    with trace(Detector, "compute", locals=["Fclose"], style="json", sink=lines):
        for distance in distances:
            Detector().compute(distance)
    return lines


def test_json_line_holds_text_exact_values_and_the_call():
    """A record: tag, name, the printed text, the exact value, dtype, call ordinal, thread, source."""
    lines = traced_json(0.1, 0.3)
    records = [json.loads(line) for line in lines]
    where = f"{__file__}:{Detector.compute.__code__.co_firstlineno}"
    assert records == [
        {"tag": "TRACE_PY", "name": "Fclose", "text": "0.3", "values": 0.1 * 3, "dtype": "float",
         "call": 1, "thread": threading.get_ident(), "where": where},
        {"tag": "TRACE_PY", "name": "Fclose", "text": "0.9", "values": 0.3 * 3, "dtype": "float",
         "call": 2, "thread": threading.get_ident(), "where": where}]
    assert repr(records[1]["values"]) == repr(0.3 * 3) == "0.8999999999999999"


def test_json_line_of_a_tensor_has_shape_dtype_device(torch):
    """A float32 tensor: the doubles it promotes to, its shape, dtype and device."""
    line = tracehooks.format_line("v", torch.tensor([[0.1, -0.0]], dtype=torch.float32), style="json")
    assert json.loads(line) == {"tag": "TRACE_PY", "name": "v", "text": "[0.100000001490116 -0]",
                                "values": [[0.10000000149011612, -0.0]], "shape": [1, 2],
                                "dtype": "float32", "device": "cpu"}


def test_parser_reads_json_lines_mixed_with_text_lines():
    """JSON and text lines of one side make one trace; JSON records carry their exact values."""
    lines = ["TRACE_PY: first 1"] + traced_json(0.3) + ["not a trace line", '{"other": "json"}']
    parsed = parse_trace(lines)
    assert [(r.name, r.text, r.line_no) for r in parsed.records] == [("first", "1", 1), ("Fclose", "0.9", 2)]
    assert parsed.records[0].exact is None
    assert parsed.records[1].exact[0].value == 0.3 * 3
    assert parsed.ignored_untagged == 2


def test_json_channel_comes_from_the_tag():
    """A JSON line tagged PREFIX_CHANNEL is a record of that channel, as a text line is."""
    line = tracehooks.format_line("hkl", [1, 2, 3], prefix="TRACE_C_PHI", style="json")
    record = parse_trace([line], prefix="TRACE_C").records[0]
    assert (record.channel, record.name, record.text) == ("PHI", "hkl", "1 2 3")


def test_diff_compares_exact_values_when_both_sides_have_them():
    """The same printed text but a one-ulp difference in the exact values is a divergence at rtol 0."""
    py = traced_json(0.3)
    c = [line.replace("TRACE_PY", "TRACE_C").replace(
        repr(0.3 * 3), repr(math.nextafter(0.3 * 3, 1))) for line in py]
    assert diff_traces(c, py, rtol=0, atol=0).summary().startswith(
        "DIVERGE: first at Fclose (occurrence 1, C line 1, Py line 1): C 0.9 vs Py 0.8999999999999999;")
    assert diff_traces(c, py).ok  # within the default rtol 1e-12
    report = tracehooks.render_text(diff_traces(c, py, rtol=0, atol=0), width=0)
    assert "  C : 0.9\n  Py: 0.8999999999999999\n" in report


def test_diff_compares_printed_values_against_a_text_log():
    """Against a text log (no exact values there), the printed text of the JSON side is compared."""
    report = diff_traces(["TRACE_C:Fclose_x=1", "TRACE_C: Fclose 0.9"], traced_json(0.3), rtol=0, atol=0)
    assert (report.count("match"), report.count("only_c")) == (1, 1)


def test_cli_diff_reads_json_on_either_side(tmp_path, capsys):
    """tracehooks diff C.log PY.jsonl: a JSON Lines log is read like a text log."""
    (tmp_path / "c.log").write_text("TRACE_C: Fclose 0.9\n")
    (tmp_path / "py.jsonl").write_text("\n".join(traced_json(0.3)) + "\n")
    assert cli_main(["diff", str(tmp_path / "c.log"), str(tmp_path / "py.jsonl")]) == 0
    assert cli_main(["diff", str(tmp_path / "py.jsonl"), str(tmp_path / "c.log"), "--c-prefix",
                     "TRACE_PY", "--py-prefix", "TRACE_C"]) == 0
