"""Exception and warning types shared by the tracehooks modules, and how they quote input."""

from __future__ import annotations

__all__ = ["SHOWN_LENGTH", "PatchError", "SinkError", "SourceLineError", "TraceWarning", "shown"]

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
