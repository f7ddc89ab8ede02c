"""DRAM memory-controller design-space exploration: a cycle-level DDR controller simulator.

* :class:`DRAMSimulator` — the :class:`archgym.simulator.Simulator` (ArchGym's 10 DRAMSys knobs
  in, latency / bandwidth / row hits / energy out);
* :class:`ControllerConfig`, :data:`KNOB_VALUES` — the design space (:mod:`.config`);
* :func:`load_device`, :func:`list_devices`, :class:`DeviceSpec` — DDR3/DDR4 devices;
* :class:`AddressMapping` — address -> channel/rank/bank group/bank/row/column;
* :func:`open_workload`, :func:`list_workloads`, :func:`generate_trace` — streamed traces.

The model itself lives in :mod:`.engine` (its event loop, :mod:`._kernel`, runs numba-compiled or,
for short traces, as plain Python) and :mod:`.power` (IDD energy).
"""

from .config import KNOB_VALUES, ControllerConfig
from .device import DeviceSpec, list_devices, load_device
from .mapping import AddressMapping
from .simulator import DRAMSimulator, SimulationResult
from .traces import TraceChunk, generate_trace, list_workloads, open_workload

__all__ = [
    "DRAMSimulator",
    "SimulationResult",
    "ControllerConfig",
    "KNOB_VALUES",
    "DeviceSpec",
    "load_device",
    "list_devices",
    "AddressMapping",
    "TraceChunk",
    "open_workload",
    "list_workloads",
    "generate_trace",
]
