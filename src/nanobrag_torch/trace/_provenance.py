"""Where a trace came from: the banner and the files written beside a trace with ``--out DIR``."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["banner", "code_commit", "environment", "write_provenance"]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def code_commit() -> str:
    """The git commit of the code that runs (with ``-dirty`` when it has uncommitted changes), or a
    sentence saying why there is none."""
    def git(*args: str) -> Optional[str]:
        try:
            done = subprocess.run(["git", "-C", str(_PACKAGE_DIR), *args], capture_output=True, text=True,
                                  timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return "unknown (the code is not in a git checkout)"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", str(_PACKAGE_DIR))
    return commit + ("-dirty" if dirty else "")


def environment() -> dict:
    """Versions and settings that can change a trace's numbers."""
    import numpy
    import torch

    import tracehooks

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "numpy": numpy.__version__,
        "tracehooks": getattr(tracehooks, "__version__", "in-tree"),
        "cwd": os.getcwd(),
        "env": {key: os.environ[key] for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "LC_ALL", "TRACEHOOKS")
                if key in os.environ},
    }


def banner(mode: str, pixel, flags: Sequence[str]) -> str:
    """One ``#`` line saying what is traced, with which code, for which command line."""
    what = "the detector block (Detector._rotate_axes, Detector._calculate_pix0_vector)"
    if mode == "pixel":
        what += f" and pixel (slow {pixel[0]}, fast {pixel[1]}) (Simulator stages)"
    return f"# Tracing {what} of nanobrag_torch at commit {code_commit()} for: {shlex.join(flags)}"


def write_provenance(out_dir: str, *, trace: str, stderr: str, flags: Sequence[str]) -> None:
    """Write the trace and its provenance into ``out_dir`` (created if needed)."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "trace.log").write_text(trace, encoding="utf-8")
    (folder / "stderr.log").write_text(stderr, encoding="utf-8")
    (folder / "environment.json").write_text(json.dumps(environment(), indent=2) + "\n", encoding="utf-8")
    (folder / "commit.txt").write_text(code_commit() + "\n", encoding="utf-8")
    (folder / "cmd.txt").write_text(shlex.join(["nanoBragg", *flags]) + "\n", encoding="utf-8")
    digest = hashlib.sha256(trace.encode("utf-8")).hexdigest()
    (folder / "trace.sha256").write_text(f"{digest}  trace.log\n", encoding="utf-8")
