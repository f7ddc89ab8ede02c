"""Refuse, with the fix, to start a worker pool from a script that lacks ``if __name__ == "__main__":``.

The process backend starts its workers with the ``spawn`` method: each worker begins by
importing the parent's main script. Without the guard, that import runs the script's top level
again — which starts another study inside the worker, which multiprocessing forbids — and the
parent only sees a ``BrokenProcessPool``. Checking the script's text before the pool starts turns
that into one line saying what to add.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from archgym.errors import UserError

#: ``__name__ == "__main__"`` in either order and quoting
_GUARD = re.compile(r"""__name__\s*==\s*['"]__main__['"]|['"]__main__['"]\s*==\s*__name__""")


def check_main_guard(start_method: str) -> None:
    """Raise :class:`UserError` if worker processes started with ``start_method`` would re-run an
    unguarded main script. Interactive sessions, ``python -c`` and ``fork`` are fine."""
    if start_method == "fork":
        return
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not str(path).endswith(".py"):
        return  # interactive, python -c, a notebook, or a console script (which carries the guard)
    try:
        source = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    if not _GUARD.search(source):
        raise UserError(
            f"the study's worker processes start by importing your script {path} again ('{start_method}' start "
            "method), which would start the study again in every worker; put the code that starts the study "
            "under `if __name__ == \"__main__\":` (or use backend=\"serial\")"
        )
