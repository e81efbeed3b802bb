"""``python -m nanobrag_torch.trace``: TRACE_PY output for a nanoBragg command line.

    python -m nanobrag_torch.trace pix0 [--cmd FILE] [--out DIR] [nanoBragg flags ...]
    python -m nanobrag_torch.trace pixel SLOW FAST [--cmd FILE] [--out DIR] [--tolerances FILE] [flags ...]

``pix0`` builds the detector exactly as ``nanobrag-torch`` does (same parser, same pivot rules) and prints
its detector block; ``pixel`` also renders one pixel alone and prints its block (nothing, with a note, for a
pixel the run does not render: outside -roi, or masked). The trace goes to stdout; it is the trace
``nanobrag-torch -trace_pixel`` prints. ``--cmd`` reads the flags from a file such as a reference case's
``cmd.txt`` (a leading program name is dropped; relative file names in it are read from that file's
folder, as when the case is run from inside its folder); flags given after it are appended. ``--out DIR``
also writes the provenance of the trace there: ``trace.log``, ``stderr.log`` (starting with a ``# Tracing``
banner), ``environment.json``, ``commit.txt`` (the git commit of the code that ran), ``cmd.txt`` and
``trace.sha256``. ``--tolerances FILE`` (with ``pixel``) writes the derived tolerances of the values that
are ill-conditioned at that pixel, one declaration a line, for ``tracehooks diff --tolerances FILE`` (see
docs/parity_workflow.md). ``--help`` and ``--version`` answer without importing torch.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import List, Optional, Sequence

# This module is a command: it reads a nanoBragg command line with the command line's own parser. The
# library modules of this package never import the command line (tests/nanobrag/test_imports.py).
from ..cli import CommandLineError, parse_args
from ..cli._signals import quiet_when_stdout_closes

PROGRAM = "python -m nanobrag_torch.trace"
USAGE = (f"usage: {PROGRAM} {{pix0 | pixel SLOW FAST}} [--cmd FILE] [--out DIR] [--tolerances FILE] "
         "[nanoBragg flags ...]")


def _split(argv: List[str]):
    """(mode, pixel, {option: value}, nanoBragg flags) from the command line."""
    if not argv or argv[0] not in ("pix0", "pixel"):
        raise CommandLineError(f"expected 'pix0' or 'pixel' first\n{USAGE}")
    mode, rest = argv[0], argv[1:]
    pixel = None
    if mode == "pixel":
        try:
            pixel = (int(rest[0]), int(rest[1]))
        except (IndexError, ValueError):
            raise CommandLineError(f"pixel needs two integers SLOW FAST\n{USAGE}") from None
        rest = rest[2:]
    options, flags = {"--cmd": None, "--out": None, "--tolerances": None}, []
    while rest:
        token = rest.pop(0)
        if token in options:
            if not rest:
                raise CommandLineError(f"{token} needs a value")
            options[token] = rest.pop(0)
        else:
            flags.append(token)
    if options["--tolerances"] is not None and mode != "pixel":
        raise CommandLineError("--tolerances needs the pixel mode: the detector block has no ill-conditioned value")
    return mode, pixel, options, flags


def _flags_from_file(path: str) -> List[str]:
    try:
        words = open(path, encoding="utf-8").read().split()
    except OSError as error:
        raise CommandLineError(f"--cmd: cannot read {path}: {error.strerror}") from None
    return words[1:] if words and not words[0].startswith("-") else words


def traced_run(mode: str, pixel, flags: Sequence[str], stderr, base_dir: Optional[str] = None):
    """The ``TracedRun`` of ``flags``: the detector block, and in the pixel mode the block of ``pixel``. Files
    named in the flags are read relative to ``base_dir`` (default: the current folder); the parser's notes
    go to ``stderr``. Raises ``CommandLineError`` for bad flags, a pixel outside the detector or a
    configuration the simulator refuses."""
    parsed = parse_args(flags, base_dir=base_dir)
    for note in parsed.notes:
        print(f"note: {note}", file=stderr)
    from ._run import trace_run  # torch: only once the command line is known to be good

    try:
        traced = trace_run(parsed.simulation, pixel if mode == "pixel" else None)
    except ValueError as error:
        raise CommandLineError(str(error)) from None
    if traced.skipped:
        print(f"note: {traced.skipped}", file=stderr)
    return traced


def tolerance_lines(tolerances) -> str:
    """The declarations in the quirks-file grammar, bounds printed exactly (repr) so nothing is rounded."""
    text = "# Derived tolerances of the traced pixel (nanobrag_torch.trace); see docs/parity_workflow.md\n"
    for declared in tolerances:
        text += (f"{declared.selector}: tolerance rtol {declared.tolerance.rtol!r} atol {declared.tolerance.atol!r}"
                 f" | {declared.reason}\n")
    return text


@quiet_when_stdout_closes
def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the trace command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__.split("\n\n", 1)[1].strip().replace("    python -m", "  python -m"))
        return 0
    if argv[:1] == ["--version"]:
        print(f"{PROGRAM} {_version()}")
        return 0
    from ._provenance import banner, write_provenance

    stderr = io.StringIO()
    try:
        mode, pixel, options, flags = _split(argv)
        cmd_file, out_dir = options["--cmd"], options["--out"]
        flags = (_flags_from_file(cmd_file) if cmd_file else []) + flags
        print(banner(mode, pixel, flags), file=stderr)
        base_dir = os.path.dirname(os.path.abspath(cmd_file)) if cmd_file else None
        with contextlib.redirect_stderr(stderr):
            traced = traced_run(mode, pixel, flags, stderr, base_dir)
    except CommandLineError as error:
        sys.stderr.write(stderr.getvalue())
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return 2
    sys.stderr.write(stderr.getvalue())
    text = "".join(line + "\n" for line in traced.lines)
    sys.stdout.write(text)
    if out_dir is not None:
        write_provenance(out_dir, trace=text, stderr=stderr.getvalue(), flags=flags)
    if options["--tolerances"] is not None:
        try:
            with open(options["--tolerances"], "w", encoding="utf-8") as file:
                file.write(tolerance_lines(traced.tolerances))
        except OSError as error:
            print(f"{PROGRAM}: error: --tolerances: cannot write {options['--tolerances']}: {error.strerror}",
                  file=sys.stderr)
            return 2
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanobrag-torch")
    except PackageNotFoundError:  # a source tree that was not installed
        return "0+unknown"


if __name__ == "__main__":
    sys.exit(main())
