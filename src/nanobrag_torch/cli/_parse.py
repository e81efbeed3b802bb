"""Turn a nanoBragg command line into typed configs, with the C's rules for defaults, convention and pivot."""

from __future__ import annotations

import difflib
import os
from typing import Optional, Sequence, Union

from ._flags import FLAG_BY_NAME, CommandLineError, FlagState
from ._resolve import ParsedCommandLine, resolve

__all__ = ["ParsedCommandLine", "parse_args"]


def _split(argv: Sequence[str], state: FlagState) -> None:
    """Apply each flag in order; the last flag setting a value wins, as in the C. Each value is checked
    against its flag's domain before the flag applies (``Flag.convert``)."""
    i = 0
    while i < len(argv):
        token = argv[i]
        flag = FLAG_BY_NAME.get(token)
        if flag is None:
            hint = difflib.get_close_matches(token, FLAG_BY_NAME, n=1)
            suffix = f" (did you mean {hint[0]}?)" if hint else ""
            what = "unknown flag" if token.startswith("-") else "unexpected value"
            raise CommandLineError(f"{what} {token!r}{suffix}")
        tokens, i = _values(flag, token, argv, i + 1)
        values, notes = flag.convert(token, tokens)
        state.given[token] = tuple(tokens)
        state.notes.extend(notes)
        flag.apply(state, token, values)
        state.order.append(token)


def _values(flag, token: str, argv: Sequence[str], start: int):
    if flag.nvalues == -6:
        # -cell takes up to six numbers and stops at the next flag, like the C.
        end = start
        while end < len(argv) and end - start < 6 and not argv[end].startswith("-"):
            end += 1
        if end == start:
            raise CommandLineError(f"{token}: expected 1 to 6 numbers (a b c alpha beta gamma)")
        return list(argv[start:end]), end
    count = flag.nvalues
    if count == -3:
        count = 1 if start < len(argv) and "rand" in argv[start] else 3
    if start + count > len(argv):
        raise CommandLineError(f"{token}: expected {count} value{'s' if count > 1 else ''}, "
                               f"got {len(argv) - start}")
    return list(argv[start:start + count]), start + count


def parse_args(argv: Sequence[str], base_dir: Optional[Union[str, os.PathLike]] = None) -> ParsedCommandLine:
    """Parse nanoBragg flags (without the program name) into configs.

    Files named on the command line (``-hkl``, ``-mat``, ``-sourcefile``, ``-img``, ``-mask``, and the
    ``Fdump.bin`` cache nanoBragg reads when ``-hkl`` is absent) are read here, so that a bad file is
    reported before anything runs; relative paths are read from ``base_dir`` (default: the current folder,
    as nanoBragg reads them). Output paths are not resolved: see ``OutputConfig.output_dir``. Raises
    ``CommandLineError`` with a one-line message.

    Example:
        >>> parsed = parse_args("-cell 100 100 100 90 90 90 -default_F 100 -N 5 -xds -ORGX 70 -ORGY 50"
        ...                     .split())
        >>> parsed.simulation.detector.convention.name, parsed.simulation.detector.effective_pivot().name
        ('XDS', 'SAMPLE')
        >>> try:
        ...     parse_args("-cell 100 100 100 90 90 90 -hkl cubic.hkl".split(), base_dir="/no/such/case")
        ... except CommandLineError as error:
        ...     print(error)
        -hkl: [Errno 2] No such file or directory: '/no/such/case/cubic.hkl'
    """
    state = FlagState()
    _split(list(argv), state)
    if "-curved_det" in state.order and list(argv)[-1] == "-curved_det":
        # The C only honours -curved_det when another argument follows it.
        state.set("curved", False)
        state.notes.append("-curved_det is ignored: nanoBragg only honours it when it is not the last argument")
    return resolve(state, None if base_dir is None else os.fspath(base_dir))
