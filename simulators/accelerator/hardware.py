"""The DNN-accelerator template: its design space as plain data, one design, and the metrics.

The template is the spatial-array accelerator of ArchGym's Timeloop and MAESTRO environments
(an Eyeriss/NVDLA/TPU-like chip)::

    DRAM --dram_bw--> global buffer (GLB, glb_kib in glb_banks banks) --noc_bw--> PE array
                                                                      pe_rows x pe_cols PEs,
                                                                      each: rf_bytes RF + 8-bit MAC

Parameters (:data:`PARAMETER_VALUES` is the design space; :data:`BASELINE_DESIGN` its default):

==============  ===============================  ===================================================
name            values                           meaning
==============  ===============================  ===================================================
``pe_rows``     4, 8, ..., 128                   rows of the PE array
``pe_cols``     4, 8, ..., 128                   columns of the PE array
``dataflow``    weight/output/input_stationary   which operand stays in the PEs and which loop
                                                 dimensions the rows x columns unroll:
                                                 WS: rows <- C (input channels), cols <- K (output
                                                 channels); OS: rows <- OY*OX (output pixels), cols
                                                 <- K; IS: rows <- C, cols <- OY*OX
``rf_bytes``    16, 32, ..., 1024                register file (scratchpad) bytes per PE
``glb_kib``     32, 64, ..., 4096                global (shared) buffer, KiB
``glb_banks``   1, 2, ..., 32                    GLB banks (each a 16-B-wide port)
``noc_bw``      8, 16, ..., 1024                 GLB <-> PE-array network bandwidth, bytes/cycle
``dram_bw``     4, 8, ..., 256                   off-chip bandwidth, bytes per accelerator cycle
``clock_mhz``   200, 400, 600, 800, 1000         accelerator clock
==============  ===============================  ===================================================

Data types (all back-ends): 8-bit weights and activations, 32-bit partial sums; final outputs
are written back requantised to 8 bits (:data:`WEIGHT_BYTES`, :data:`ACTIVATION_BYTES`,
:data:`PSUM_BYTES`). Batch size 1. Each GLB bank has a :data:`GLB_BANK_BYTES_PER_CYCLE`-wide port.

Every back-end reports :data:`ACCELERATOR_METRICS`, the derived ones computed by
:func:`derived_metrics` so they are defined identically everywhere. This module imports
nothing from gymnasium: the env builds its ``DesignSpace`` from this plain data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

from archgym.errors import UserError
from archgym.simulator import Metric

__all__ = [
    "WEIGHT_BYTES",
    "ACTIVATION_BYTES",
    "PSUM_BYTES",
    "GLB_BANK_BYTES_PER_CYCLE",
    "DATAFLOWS",
    "DATAFLOW_ALIASES",
    "PARAMETER_VALUES",
    "PARAMETER_KINDS",
    "BASELINE_DESIGN",
    "AcceleratorDesign",
    "ACCELERATOR_METRICS",
    "derived_metrics",
]

#: operand widths in bytes: 8-bit weights and activations, 32-bit partial sums
WEIGHT_BYTES = 1
ACTIVATION_BYTES = 1
PSUM_BYTES = 4
#: bytes per cycle of one GLB bank's port
GLB_BANK_BYTES_PER_CYCLE = 16

DATAFLOWS: tuple[str, ...] = ("weight_stationary", "output_stationary", "input_stationary")
#: short names accepted wherever a dataflow is given (e.g. on the command line)
DATAFLOW_ALIASES: dict[str, str] = {"ws": "weight_stationary", "os": "output_stationary", "is": "input_stationary"}


def _powers_of_two(low: int, high: int) -> tuple[int, ...]:
    return tuple(1 << k for k in range(low.bit_length() - 1, high.bit_length()))


#: the design space, parameter -> allowed values (ordered; the env's DesignSpace is built from it)
PARAMETER_VALUES: dict[str, tuple[Any, ...]] = {
    "pe_rows": _powers_of_two(4, 128),
    "pe_cols": _powers_of_two(4, 128),
    "dataflow": DATAFLOWS,
    "rf_bytes": _powers_of_two(16, 1024),
    "glb_kib": _powers_of_two(32, 4096),
    "glb_banks": _powers_of_two(1, 32),
    "noc_bw": _powers_of_two(8, 1024),
    "dram_bw": _powers_of_two(4, 256),
    "clock_mhz": (200, 400, 600, 800, 1000),
}
#: how each parameter is declared in a DesignSpace: "categorical", "values" or "power_of_two"
PARAMETER_KINDS: dict[str, str] = {
    "pe_rows": "values", "pe_cols": "values", "dataflow": "categorical", "rf_bytes": "power_of_two",
    "glb_kib": "power_of_two", "glb_banks": "values", "noc_bw": "power_of_two", "dram_bw": "power_of_two",
    "clock_mhz": "values",
}

#: The baseline accelerator: a 16x16 weight-stationary array (NVDLA-small / Eyeriss-sized: 256
#: PEs) with 256-B PE scratchpads (room for an 11x11 filter window, so every shipped network
#: maps), a 512 KiB GLB in 8 banks, a 64-B/cycle NoC, 16 B/cycle of DRAM bandwidth (6.4 GB/s at
#: 400 MHz, one LPDDR4 x32 channel's worth) at 400 MHz.
BASELINE_DESIGN: dict[str, Any] = {
    "pe_rows": 16,
    "pe_cols": 16,
    "dataflow": "weight_stationary",
    "rf_bytes": 256,
    "glb_kib": 512,
    "glb_banks": 8,
    "noc_bw": 64,
    "dram_bw": 16,
    "clock_mhz": 400,
}


@dataclass(frozen=True)
class AcceleratorDesign:
    """One accelerator design (defaults: :data:`BASELINE_DESIGN`).

    Back-ends accept any positive integer sizes (a model is not limited to the env's grid, so
    e.g. Eyeriss' 12x14 array can be evaluated); :meth:`check_in_space` tests membership of
    :data:`PARAMETER_VALUES`.
    """

    pe_rows: int = BASELINE_DESIGN["pe_rows"]
    pe_cols: int = BASELINE_DESIGN["pe_cols"]
    dataflow: str = BASELINE_DESIGN["dataflow"]
    rf_bytes: int = BASELINE_DESIGN["rf_bytes"]
    glb_kib: int = BASELINE_DESIGN["glb_kib"]
    glb_banks: int = BASELINE_DESIGN["glb_banks"]
    noc_bw: int = BASELINE_DESIGN["noc_bw"]
    dram_bw: int = BASELINE_DESIGN["dram_bw"]
    clock_mhz: int = BASELINE_DESIGN["clock_mhz"]

    def __post_init__(self) -> None:
        dataflow = DATAFLOW_ALIASES.get(str(self.dataflow).lower(), str(self.dataflow).lower())
        if dataflow not in DATAFLOWS:
            raise UserError(f"invalid value {self.dataflow!r} for accelerator parameter 'dataflow'; expected one "
                             f"of {', '.join(DATAFLOWS)} (or {', '.join(DATAFLOW_ALIASES)})")
        object.__setattr__(self, "dataflow", dataflow)
        for f in fields(self):
            if f.name == "dataflow":
                continue
            value = getattr(self, f.name)
            object.__setattr__(self, f.name, _positive_int(f.name, value))

    @classmethod
    def from_mapping(cls, design: Mapping[str, Any]) -> "AcceleratorDesign":
        """A design from a dict; missing parameters take the baseline's values.

        Unknown parameters or values that are not positive integers raise ``ValueError``;
        numbers given as strings (command line) are converted.
        """
        if isinstance(design, AcceleratorDesign):
            return design
        unknown = sorted(set(design) - set(PARAMETER_VALUES))
        if unknown:
            raise UserError(f"unknown accelerator parameter(s) {', '.join(unknown)}; expected: "
                             f"{', '.join(PARAMETER_VALUES)}")
        return cls(**dict(design))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check_in_space(self) -> None:
        """Raise ``ValueError`` naming the first parameter outside :data:`PARAMETER_VALUES`."""
        for name, allowed in PARAMETER_VALUES.items():
            if getattr(self, name) not in allowed:
                raise UserError(f"accelerator parameter {name!r} = {getattr(self, name)!r} is outside the design "
                                 f"space; expected one of {', '.join(map(str, allowed))}")

    @property
    def num_pes(self) -> int:
        return self.pe_rows * self.pe_cols

    @property
    def glb_bytes(self) -> int:
        return self.glb_kib * 1024


def _positive_int(name: str, value: Any) -> int:
    try:
        number = int(value)
        ok = number >= 1 and float(value) == number and not isinstance(value, bool)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise UserError(f"invalid value {value!r} for accelerator parameter {name!r}; expected a positive integer "
                         f"(design space: {', '.join(map(str, PARAMETER_VALUES[name]))})")
    return number


#: the metrics every accelerator back-end reports
ACCELERATOR_METRICS: tuple[Metric, ...] = (
    Metric("latency_cycles", "cycles", "minimize", "cycles for one inference (layers run one after another)"),
    Metric("latency_ms", "ms", "minimize", "latency_cycles / clock"),
    Metric("energy_pj", "pJ", "minimize", "energy of one inference: compute, on-chip memories, NoC and DRAM"),
    Metric("energy_uj", "uJ", "minimize", "energy_pj / 1e6"),
    Metric("area_mm2", "mm2", "minimize", "chip area: PEs with their RFs, GLB, NoC, DRAM interface (45 nm)"),
    Metric("utilization", "fraction", "maximize", "MACs / (PEs x latency_cycles): share of peak achieved"),
    Metric("edp", "uJ*ms", "minimize", "energy-delay product, energy_uj x latency_ms"),
    Metric("throughput_inf_s", "inferences/s", "maximize", "1000 / latency_ms (batch 1)"),
    Metric("dram_bytes", "bytes", "minimize", "off-chip traffic of one inference (reads + writes)"),
)


def derived_metrics(*, latency_cycles: float, energy_pj: float, area_mm2: float, macs: float, num_pes: float,
                    clock_mhz: float, dram_bytes: float) -> dict[str, float]:
    """All of :data:`ACCELERATOR_METRICS` from the primary quantities (shared by back-ends).

    Works elementwise on numpy arrays as well as on numbers (then the values are floats).
    """
    latency_ms = latency_cycles / (clock_mhz * 1e3)
    energy_uj = energy_pj / 1e6
    metrics = {
        "latency_cycles": latency_cycles,
        "latency_ms": latency_ms,
        "energy_pj": energy_pj,
        "energy_uj": energy_uj,
        "area_mm2": area_mm2,
        "utilization": macs / (num_pes * latency_cycles),
        "edp": energy_uj * latency_ms,
        "throughput_inf_s": 1e3 / latency_ms,
        "dram_bytes": dram_bytes,
    }
    if all(isinstance(v, (int, float)) for v in metrics.values()):
        return {k: float(v) for k, v in metrics.items()}
    return metrics
