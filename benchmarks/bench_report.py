"""The tables and lines bench_simulator.py prints, from its rows (dicts of measured numbers)."""

from __future__ import annotations

from typing import Sequence

_COLUMNS = [("case", "name", "s", 20), ("pixels", "pixels", "d", 8), ("evals/px", "evaluations_per_pixel", "d", 8),
            ("C (s)", "c_median_s", ".3f", 7), ("port (s)", "process_median_s", ".2f", 8),
            ("port/C", "process_over_c", ".2f", 6), ("start (s)", "startup_s", ".2f", 9),
            ("render", "render_median_s", ".3f", 7), ("rend/C", "render_over_c", ".2f", 6),
            ("u/w C", "c_cpu_over_wall", ".2f", 5), ("u/w port", "process_cpu_over_wall", ".2f", 8),
            ("u/w rend", "render_cpu_over_wall", ".2f", 8), ("MB C", "c_max_rss_mb", ".0f", 5),
            ("MB port", "process_max_rss_mb", ".0f", 7), ("ulps C-NT", "agreement_c_threads", "d", 9),
            ("ulps C-1T", "agreement_c_1thread", "d", 9)]


def format_table(rows: Sequence[dict]) -> str:
    """The results table; "-" marks what was not measured (no C binary, or a crash).

    Example:
        >>> print(format_table([{"name": "a", "pixels": 4, "evaluations_per_pixel": 1,
        ...                      "render_median_s": 0.5}]).splitlines()[2])
        a                           4        1       -        -      -         -   0.500      -     -        -        -     -       -         -         -
    """
    def cell(row: dict, key: str, fmt: str) -> str:
        value = row.get(key)
        value = value.get("max_ulps") if isinstance(value, dict) else value
        return "-" if value is None else format(value, fmt)

    # The case column is as wide as the longest name (the reference cases' names are long).
    columns = [(title, key, fmt, max([width] + [len(row["name"]) for row in rows]) if key == "name" else width)
               for title, key, fmt, width in _COLUMNS]
    header = " ".join(title.ljust(width) if key == "name" else title.rjust(width)
                      for title, key, _, width in columns)
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(" ".join(row["name"].ljust(width) if key == "name" else cell(row, key, fmt).rjust(width)
                              for _, key, fmt, width in columns))
    return "\n".join(lines)


def format_memory(found: dict, threads: int) -> str:
    lines = [f"Memory, {found['case']}: {found['command']}",
             f"  peak resident set (ru_maxrss), MB = 10^6 bytes; target: whole rendering process < "
             f"{found['target_mb']:.0f} MB"]
    for key, label in (("port_run", "port, build + render"), ("port_build_only", "port, build only")):
        probe = found[key]
        text = probe.get("error") or f"{probe['max_rss_mb']:9.1f} MB   ({probe['seconds']:.1f} s)"
        if "cuda_peak_allocated_mb" in probe:
            text += f"   CUDA peak allocated {probe['cuda_peak_allocated_mb']:.1f} MB"
        lines.append(f"  {label:<30}{text}")
    if "port_run_minus_build_mb" in found:
        within = "within" if found["port_run"]["max_rss_mb"] < found["target_mb"] else "OVER"
        lines.append(f"  {'port, render minus build':<30}{found['port_run_minus_build_mb']:9.1f} MB"
                     f"   (whole process {within} target)")
    c = found.get("c")
    if c is None:
        lines.append("  C: skipped (NANOBRAGG_BIN is not set)")
    else:
        lines.append(f"  {'C, OMP_NUM_THREADS=' + str(threads):<30}{c['max_rss_mb']:9.1f} MB   "
                     f"({c['seconds']:.1f} s, exit status {c['returncode']})")
    return "\n".join(lines)


def progress_line(row: dict) -> str:
    text = f"[{row['name']}]"
    if "render_median_s" in row:
        text += f" render {row['render_median_s']:.3f} s"
    if "process_median_s" in row:
        text += f", port process {row['process_median_s']:.3f} s"
    if "c_median_s" in row:
        text += (f", C {row['c_median_s']:.3f} s, render/C {row['render_over_c']:.2f}, "
                 f"correlation with the 1-thread C {row['correlation_c_1thread']:.9f}")
    return text + (f"; {row['error']}" if "error" in row else "")
