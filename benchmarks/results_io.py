"""One home for how a benchmark saves its raw results.

Every benchmark writes ``benchmarks/results/<name>.json``: the figures it printed plus the setup
that produced them (the exact command, UTC time, git commit, archgym version, Python, CPU count
and load average), so a number in the README can be traced back to one file and one command.
Benchmarks are run as scripts (``python benchmarks/<name>.py``), so this module is importable
next to them without any path manipulation.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=RESULTS_DIR.parent, capture_output=True,
                             text=True, timeout=5, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=RESULTS_DIR.parent,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def setup() -> dict[str, Any]:
    """What produced a result: command, time, code version, machine."""
    try:
        from archgym import __version__ as version
    except ImportError:  # pragma: no cover - benchmarks always run with archgym installed
        version = None
    return {
        "command": " ".join(["python", *sys.argv]),
        "utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "archgym_version": version,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def _jsonable(value: Any) -> Any:
    """Plain JSON: tuples to lists, numpy scalars to numbers, non-finite floats to null."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def save_results(name: str, results: Any) -> Path:
    """Write ``results`` (JSON-able) with :func:`setup` to ``benchmarks/results/<name>.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {"setup": setup(), "results": _jsonable(results)}
    path.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    print(f"raw results: {path.relative_to(RESULTS_DIR.parent.parent)}")
    return path
