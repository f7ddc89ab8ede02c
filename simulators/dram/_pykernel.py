"""The DRAM controller kernel as plain Python, from the same source as the compiled one.

:mod:`._kernel` is the whole event loop, written for numba (``@njit``). This module runs the code
of that very file once more, in its own namespace, with ``njit`` bound to the identity, so
every function stays an ordinary Python function and numba is never imported. There is no
second copy of the model: the two kernels cannot drift apart, and
``tests/simulators/dram/test_pykernel.py`` checks that they produce identical counters.

Why: importing numba and initialising its compiler target costs about 0.6 s of every process
that simulates, even when the machine code comes from numba's disk cache. A short trace (the
CLI on a handful of requests, a smoke test) finishes in Python long before that;
:func:`archgym.simulators.dram.engine.resolve_kernel` chooses between the kernels.

The state layout, command and knob codes (every upper-case name) and :func:`run` are exported,
so :mod:`.engine` takes its constants from here without importing numba. The code object
comes from the ``__pycache__`` entry of ``_kernel.py`` (Python's own bytecode cache, shared with
the compiled module's import), and tracebacks name ``_kernel.py`` and its line numbers.
"""

from __future__ import annotations

from importlib.machinery import SourceFileLoader
from pathlib import Path
from typing import Any, Callable

_KERNEL_MODULE = __name__.rpartition(".")[0] + "._kernel"
_KERNEL_PATH = str(Path(__file__).with_name("_kernel.py"))


def njit(*args: Any, **options: Any) -> Any:
    """The identity in place of ``numba.njit``: ``@njit`` and ``@njit(...)`` leave the function
    as it is (the options are numba's compilation options; plain Python has none)."""
    if len(args) == 1 and callable(args[0]) and not options:
        return args[0]

    def keep(function: Callable[..., Any]) -> Callable[..., Any]:
        return function

    return keep


def _kernel_code() -> Any:
    """The compiled bytecode of ``_kernel.py`` (read from, or written to, its ``.pyc``)."""
    return SourceFileLoader(_KERNEL_MODULE, _KERNEL_PATH).get_code(_KERNEL_MODULE)


# ``_kernel.py`` imports numba's njit only when no ``njit`` is defined yet (its first lines)
exec(_kernel_code(), globals())  # noqa: S102  (our own source file, see the module docstring)

# ``from ._pykernel import *`` gives the constants only: a caller picks a kernel's ``run``
# explicitly (:func:`archgym.simulators.dram.engine.kernel_function`)
__all__ = [name for name in __all__ if name != "run"]  # noqa: F821  (defined by the exec)
