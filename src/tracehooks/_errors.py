"""Exception and warning types shared by the tracehooks modules, and how they quote and decode input."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["SHOWN_LENGTH", "PatchError", "SinkError", "SourceLineError", "TraceWarning", "shown", "text_lines"]

#: The longest text quoted whole in an error message.
SHOWN_LENGTH = 60


def shown(text: str) -> str:
    """Quote ``text`` for an error message, cut to a length that fits a line.

    Example:
        >>> shown("rotx:"), shown("x" * 70)[-5:]
        ("'rotx:'", "x'...")
    """
    return repr(text) if len(text) <= SHOWN_LENGTH else repr(text[:SHOWN_LENGTH]) + "..."


class TraceWarning(RuntimeWarning):
    """Instrumentation failed and was switched off; the traced program went on.

    Raised as a warning (never as an exception into traced code) when a
    formatter or an ``emit=`` callable fails, or when a requested local is
    not bound when the traced function returns.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warnings.warn("demo", TraceWarning)
        >>> caught[0].category.__name__
        'TraceWarning'
    """


class SinkError(RuntimeError):
    """A sink could not write or close; names the sink and keeps the cause.

    It derives from RuntimeError rather than OSError because the cause is
    not always an I/O error (a callable sink may raise anything, writing to
    a closed file raises ValueError); the original exception is available
    as ``.cause`` and as ``__cause__``.

    Example:
        >>> err = SinkError("list sink", ValueError("boom"))
        >>> str(err)
        'sink list sink failed: ValueError: boom'
        >>> type(err.cause).__name__
        'ValueError'
    """

    def __init__(self, sink: str, cause: BaseException) -> None:
        super().__init__(f"sink {sink} failed: {type(cause).__name__}: {cause}")
        self.sink = sink
        self.cause = cause


class PatchError(RuntimeError):
    """An attribute could not be restored because something else replaced it.

    Example:
        >>> isinstance(PatchError("x"), RuntimeError)
        True
    """


class SourceLineError(ValueError):
    """An input line that cannot be read; ``str(error)`` is ``SOURCE:LINE: message``.

    Example:
        >>> str(SourceLineError("c.log", 3, "no value"))
        'c.log:3: no value'
    """

    def __init__(self, source: str, line_no: int, message: str) -> None:
        super().__init__(f"{source}:{line_no}: {message}")
        self.source = source
        self.line_no = line_no
        self.message = message


def text_lines(lines: Iterable[str | bytes], source: str,
               error: type[SourceLineError] = SourceLineError) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line, bytes decoded as UTF-8; a line that is not raises ``error``
    naming the source, the line and the byte.

    Example:
        >>> list(text_lines([b"a 1\\n", "b 2"], "t.log"))
        [(1, 'a 1\\n'), (2, 'b 2')]
        >>> list(text_lines([b"\\xff"], "t.log"))
        Traceback (most recent call last):
        ...
        tracehooks._errors.SourceLineError: t.log:1: not valid UTF-8 (byte 1 of the line)
    """
    for line_no, raw in enumerate(lines, start=1):
        if not isinstance(raw, str):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise error(source, line_no, f"not valid UTF-8 (byte {exc.start + 1} of the line)") from None
        yield line_no, raw
