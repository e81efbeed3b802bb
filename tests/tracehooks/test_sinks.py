"""Sinks: every accepted specification, locking, and error wrapping."""

from __future__ import annotations

import io
import logging
import sys
import threading
import time

import pytest

from tracehooks import LoggerSink, Sink, SinkError, resolve_sink
from tracehooks._sinks import FileSink, PathSink


def test_stdout_is_looked_up_at_write_time(monkeypatch):
    """The stdout sink writes to whatever sys.stdout is when it writes."""
    sink = resolve_sink("stdout")
    replacement = io.StringIO()
    monkeypatch.setattr(sys, "stdout", replacement)
    sink.write("TRACE_PY: a 1")
    assert replacement.getvalue() == "TRACE_PY: a 1\n"


def test_stdout_is_the_default(capsys):
    """resolve_sink() with no argument prints to stdout (capsys sees it)."""
    resolve_sink().write("line")
    assert capsys.readouterr().out == "line\n"


def test_stderr(capsys):
    """'stderr' writes the line and a newline to sys.stderr."""
    resolve_sink("stderr").write("line")
    assert capsys.readouterr().err == "line\n"


def test_path_appends_and_closes(tmp_path):
    """A path is opened for append (existing text kept) and closed by close()."""
    path = tmp_path / "trace.log"
    path.write_text("old\n")
    sink = resolve_sink(str(path))
    sink.write("new")
    sink.close()
    assert (path.read_text(), sink.stream.closed) == ("old\nnew\n", True)


def test_pathlike_is_a_path(tmp_path):
    """An os.PathLike is treated as a path too."""
    sink = resolve_sink(tmp_path / "t.log")
    assert isinstance(sink, PathSink)
    sink.close()


def test_unopenable_path_raises_sink_error(tmp_path):
    """A directory given as path raises SinkError naming the path, with the OSError as cause."""
    with pytest.raises(SinkError, match=r"sink path '.*' failed: IsADirectoryError") as info:
        resolve_sink(str(tmp_path))
    assert isinstance(info.value.__cause__, IsADirectoryError)


def test_open_file_gets_lines_and_stays_open():
    """An object with .write receives line+newline and is not closed by close()."""
    stream = io.StringIO()
    sink = resolve_sink(stream)
    sink.write("a")
    sink.close()
    assert (stream.getvalue(), stream.closed) == ("a\n", False)


def test_list_gets_lines_without_newline():
    """A list receives each line as an element, without newline."""
    lines: list[str] = []
    sink = resolve_sink(lines)
    sink.write("a")
    sink.write("b")
    assert lines == ["a", "b"]


def test_logger_logs_at_info(caplog):
    """A Logger receives logger.info(line)."""
    logger = logging.getLogger("tracehooks.test")
    with caplog.at_level(logging.DEBUG, logger="tracehooks.test"):
        resolve_sink(logger).write("TRACE_PY: a 1")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.INFO, "TRACE_PY: a 1")]


def test_logger_level_is_configurable(caplog):
    """LoggerSink(logger, level) logs at that level."""
    logger = logging.getLogger("tracehooks.test")
    with caplog.at_level(logging.DEBUG, logger="tracehooks.test"):
        resolve_sink(LoggerSink(logger, logging.WARNING)).write("x")
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


def test_callable_gets_each_line():
    """A callable is called with each line."""
    seen: list[str] = []
    resolve_sink(seen.append).write("a")
    assert seen == ["a"]


def test_sink_instance_is_returned_unchanged():
    """A Sink passes through resolve_sink as the same object."""
    sink = resolve_sink([])
    assert resolve_sink(sink) is sink


def test_unsupported_spec_raises_type_error():
    """A number is not a sink: TypeError listing what is allowed."""
    with pytest.raises(TypeError, match=r"sink 3 of type int is not supported; allowed: 'stdout'"):
        resolve_sink(3)


def test_failing_callable_raises_sink_error_with_cause():
    """An exception inside a sink becomes SinkError naming the sink, chained to the cause."""
    def broken(line):
        raise ValueError("disk on fire")

    with pytest.raises(SinkError, match=r"sink callable .*broken failed: ValueError: disk on fire") as info:
        resolve_sink(broken).write("a")
    assert (type(info.value.cause), info.value.__cause__ is info.value.cause) == (ValueError, True)


def test_sink_error_is_a_runtime_error():
    """SinkError is a RuntimeError (documented choice)."""
    assert issubclass(SinkError, RuntimeError)


class CharByCharStream:
    """A text stream that writes one character at a time, yielding the GIL in between."""

    def __init__(self) -> None:
        self.chars: list[str] = []

    def write(self, text: str) -> None:
        for char in text:
            self.chars.append(char)
            if char == "|":
                time.sleep(0)  # let another thread run mid-line


def test_concurrent_writers_never_interleave_inside_a_line():
    """Eight threads writing through two sinks on one stream produce whole lines only."""
    stream = CharByCharStream()
    sinks = [FileSink(stream), FileSink(stream)]

    def writer(number: int) -> None:
        for i in range(50):
            sinks[number % 2].write(f"thread{number}|line{i}|end")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = "".join(stream.chars).splitlines()
    expected = sorted(f"thread{n}|line{i}|end" for n in range(8) for i in range(50))
    assert sorted(lines) == expected


def test_sink_subclass_only_needs_write():
    """A user Sink subclass implementing _write works through resolve_sink."""
    class Upper(Sink):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def _write(self, line: str) -> None:
            self.lines.append(line.upper())

    sink = resolve_sink(Upper())
    sink.write("abc")
    assert sink.lines == ["ABC"]
