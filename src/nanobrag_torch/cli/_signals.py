"""Signals for the command line: hold them back around steps that must not be cut, and let SIGTERM and SIGHUP
unwind the program as Ctrl-C does, so that the same clean-up runs.

Only the standard library is imported here: ``main`` needs this before anything else is loaded.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from contextlib import contextmanager

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Iterator

__all__ = ["DEFERRED_SIGNALS", "Terminated", "quiet_when_stdout_closes", "signals_deferred",
           "terminate_by_exception"]

#: The signals ``signals_deferred`` holds back. SIGKILL cannot be.
DEFERRED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C's ``KeyboardInterrupt``; ``signum`` is the signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()  # the only thread that may set handlers


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back for the duration of the block, then handle them.

    The signals are blocked with ``pthread_sigmask`` (POSIX) in this thread, and their Python handlers are
    replaced by one that only records them, because the C runtime may deliver a process signal to another
    thread (torch's worker threads do not block it). When the block ends, each recorded signal is raised
    again under the original handler: Ctrl-C becomes a ``KeyboardInterrupt`` there, a default SIGTERM ends
    the process there. A signal whose handler is ``SIG_IGN``, or was not set from Python, is left alone.
    Outside the main thread the block runs unprotected.
    """
    if not _in_main_thread():
        yield
        return
    received: list = []

    def record(number: int, frame) -> None:
        received.append(number)

    previous = {number: signal.getsignal(number) for number in DEFERRED_SIGNALS}
    deferred = [number for number, handler in previous.items() if handler not in (signal.SIG_IGN, None)]
    for number in deferred:
        signal.signal(number, record)
    blocking = hasattr(signal, "pthread_sigmask")
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, deferred) if blocking else None
    try:
        yield
    finally:
        if blocking:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # blocked signals arrive now, and are recorded
        for number in deferred:
            signal.signal(number, previous[number])
        for number in dict.fromkeys(received):
            signal.raise_signal(number)


@contextmanager
def terminate_by_exception() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise ``Terminated`` where they would end the process.

    Only default handlers are replaced (a SIGHUP ignored under ``nohup`` stays ignored); the previous handlers
    are put back when the block ends.
    """
    replaced = [number for number in _TERMINATING
                if _in_main_thread() and signal.getsignal(number) == signal.SIG_DFL]
    for number in replaced:
        signal.signal(number, _raise_terminated)
    try:
        yield
    finally:
        for number in replaced:
            signal.signal(number, signal.SIG_DFL)


def _raise_terminated(signum: int, frame) -> None:
    raise Terminated(signum)


def quiet_when_stdout_closes(main):
    """Wrap a command's ``main``: when the reader of stdout leaves (``| head``) the command ends with status 2
    (an output failure, as ``tracehooks diff``) and no traceback, now or when the interpreter flushes at exit.

    Example:
        >>> @quiet_when_stdout_closes
        ... def command(argv=None):
        ...     raise BrokenPipeError
        >>> command()
        2
    """
    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            try:
                status = main(*args, **kwargs)
            except SystemExit:  # argparse's --help and --version print, then exit
                sys.stdout.flush()
                raise
            sys.stdout.flush()
            return status
        except BrokenPipeError:
            _discard_stdout()
            return 2
    return wrapper


def _discard_stdout() -> None:
    # What is still buffered would fail again when the interpreter flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture)
        pass
