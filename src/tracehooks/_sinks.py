"""Where trace lines go: one resolver turns a user's ``sink=`` into a Sink.

Every sink writes a whole line in one call while holding a lock, so lines
written from several threads never interleave inside a line.  Sinks that
share a destination (two traces printing to stdout, two sinks around the
same open file) share that destination's lock.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, TextIO

from ._errors import SinkError

__all__ = ["CallableSink", "FileSink", "ListSink", "LoggerSink", "PathSink", "Sink", "StreamSink",
           "resolve_sink"]

_STREAM_LOCKS = {"stdout": threading.Lock(), "stderr": threading.Lock()}
_OBJECT_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_OBJECT_LOCKS_GUARD = threading.Lock()


def _lock_for(obj: Any) -> threading.Lock:
    with _OBJECT_LOCKS_GUARD:
        try:
            lock = _OBJECT_LOCKS.get(obj)
            if lock is None:
                lock = _OBJECT_LOCKS[obj] = threading.Lock()
            return lock
        except TypeError:  # not weak-referenceable: the sink keeps its own lock
            return threading.Lock()


class Sink:
    """Base class: ``write(line)`` sends one line (without newline) somewhere.

    Subclasses implement ``_write``; ``write`` adds the lock and turns any
    failure into :class:`SinkError`.  ``close()`` releases what the sink
    opened itself (only :class:`PathSink` opens anything).

    Example:
        >>> lines = []
        >>> sink = resolve_sink(lines)
        >>> sink.write("TRACE_PY: x 1")
        >>> lines
        ['TRACE_PY: x 1']
    """

    owns_resource = False

    def __init__(self, lock: threading.Lock | None = None) -> None:
        self._lock = lock or threading.Lock()

    def describe(self) -> str:
        """Short human description used in error messages.

        Example:
            >>> resolve_sink("stderr").describe()
            'stderr'
        """
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"

    def write(self, line: str) -> None:
        """Write one line atomically; raise SinkError if the destination fails.

        Example:
            >>> resolve_sink(print).write("hello")
            hello
        """
        with self._lock:
            try:
                self._write(line)
            except Exception as exc:
                raise SinkError(self.describe(), exc) from exc

    def _write(self, line: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what this sink opened; a no-op unless it opened a file.

        Example:
            >>> resolve_sink([]).close()
        """


class StreamSink(Sink):
    """``sys.stdout`` or ``sys.stderr``, looked up at each write (so capsys/redirects work).

    Example:
        >>> StreamSink("stdout").write("TRACE_PY: x 1")
        TRACE_PY: x 1
    """

    def __init__(self, name: str) -> None:
        if name not in _STREAM_LOCKS:
            raise ValueError(f"stream {name!r} is not supported; allowed: 'stdout', 'stderr'")
        super().__init__(_STREAM_LOCKS[name])
        self.name = name

    def describe(self) -> str:
        return self.name

    def _write(self, line: str) -> None:
        getattr(sys, self.name).write(line + "\n")


class FileSink(Sink):
    """An already open text file (anything with ``.write``); never closed here.

    Example:
        >>> import io
        >>> buffer = io.StringIO()
        >>> FileSink(buffer).write("a 1")
        >>> buffer.getvalue()
        'a 1\\n'
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__(_lock_for(stream))
        self.stream = stream

    def describe(self) -> str:
        return f"file {getattr(self.stream, 'name', type(self.stream).__name__)!r}"

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")


class PathSink(FileSink):
    """A file opened for append by the sink itself, line buffered, closed by ``close()``.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "trace.log"
        >>> sink = PathSink(path)
        >>> sink.write("a 1"); sink.close()
        >>> path.read_text()
        'a 1\\n'
    """

    owns_resource = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            stream = open(self.path, "a", encoding="utf-8", buffering=1)
        except OSError as exc:
            raise SinkError(f"path {self.path!r}", exc) from exc
        super().__init__(stream)

    def describe(self) -> str:
        return f"path {self.path!r}"

    def close(self) -> None:
        with self._lock:
            try:
                self.stream.close()
            except Exception as exc:
                raise SinkError(self.describe(), exc) from exc


class ListSink(Sink):
    """Appends each line (without newline) to a list.

    Example:
        >>> lines = []
        >>> ListSink(lines).write("a 1")
        >>> lines
        ['a 1']
    """

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def describe(self) -> str:
        return f"list of {len(self.lines)} lines"

    def write(self, line: str) -> None:
        # One list.append is atomic under the GIL, and no other sink shares this lock: skip it.
        try:
            self.lines.append(line)
        except Exception as exc:
            raise SinkError(self.describe(), exc) from exc

    def _write(self, line: str) -> None:
        self.lines.append(line)


class LoggerSink(Sink):
    """Sends each line to ``logger.log(level, line)`` (INFO unless told otherwise).

    Example:
        >>> import logging
        >>> LoggerSink(logging.getLogger("demo"), logging.DEBUG).level
        10
    """

    def __init__(self, logger: logging.Logger, level: int = logging.INFO) -> None:
        super().__init__()
        self.logger = logger
        self.level = level

    def describe(self) -> str:
        return f"logger {self.logger.name!r}"

    def _write(self, line: str) -> None:
        self.logger.log(self.level, line)


class CallableSink(Sink):
    """Calls ``function(line)`` for each line.

    Example:
        >>> CallableSink(print).write("a 1")
        a 1
    """

    def __init__(self, function: Callable[[str], Any]) -> None:
        super().__init__()
        self.function = function

    def describe(self) -> str:
        return f"callable {getattr(self.function, '__qualname__', repr(self.function))}"

    def _write(self, line: str) -> None:
        self.function(line)


def resolve_sink(spec: Any = "stdout") -> Sink:
    """Turn a sink specification into a :class:`Sink`.

    Accepted: a Sink (returned as is); ``"stdout"`` / ``"stderr"``; any
    other str or ``os.PathLike`` is a path opened for append (write
    ``"./stdout"`` for a file of that name); a ``logging.Logger`` (INFO;
    use ``LoggerSink`` for another level); a list; an object with
    ``.write``; any callable taking one line.

    Example:
        >>> resolve_sink("stdout")
        <StreamSink stdout>
        >>> resolve_sink([])
        <ListSink list of 0 lines>
    """
    if isinstance(spec, Sink):
        return spec
    if isinstance(spec, str) and spec in _STREAM_LOCKS:
        return StreamSink(spec)
    if isinstance(spec, (str, os.PathLike)):
        return PathSink(spec)
    if isinstance(spec, logging.Logger):
        return LoggerSink(spec)
    if isinstance(spec, list):
        return ListSink(spec)
    if callable(getattr(spec, "write", None)):
        return FileSink(spec)
    if callable(spec):
        return CallableSink(spec)
    raise TypeError(f"sink {spec!r} of type {type(spec).__name__} is not supported; allowed: "
                    "'stdout', 'stderr', a path, an open text file, a list, a logging.Logger, "
                    "a callable taking one line, or a Sink")
