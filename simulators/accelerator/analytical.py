"""``AnalyticalAccelerator``: a loop-nest / data-movement cost model of the accelerator template.

In the spirit of Timeloop (Parashar et al., ISPASS 2019) and MAESTRO (Kwon et al., MICRO
2019): each layer's loop nest (:mod:`.layers`) is mapped onto the template of :mod:`.hardware`
by fixed rules per dataflow, tiled under the buffer capacities, and turned into access counts
per memory level; energy = counts x the per-access energies of :mod:`.energy`, latency = the
slowest of compute and the bandwidth of each level. Closed-form and vectorised with numpy over
designs x layers (:meth:`AnalyticalAccelerator.evaluate_arrays`).

Notation (per group; a layer's cost is multiplied by ``G`` and by ``repeat``): ``K`` output
and ``C`` input channels, ``P = OY*OX`` output pixels, ``R = FY*FX`` filter taps, stride ``s``;
array ``rows x cols``; sizes in bytes: ``W = K*C*R``, ``I = C*IY'*IX'``, ``O = K*P`` (8-bit
elements), where ``IY' = OY*min(s, FY) + max(FY - s, 0)`` (likewise ``IX'``) counts the input
rows the outputs touch (a 1x1 stride-2 conv skips every other row).

Assumptions
-----------
1. *Data types*: 8-bit weights and activations, 32-bit (4-B) partial sums; final outputs are
   written requantised to 1 B. Batch 1. Layers run one after another; every layer reads its
   inputs and weights from DRAM and writes its outputs back (no fusion, no inter-layer reuse).
2. *Spatial unrolling* (dataflow -> rows x cols, the rest runs in time inside each PE):

   ===================  =========  =========  ===============  ===========================
   dataflow             rows       cols       temporal         stationary in the RF
   ===================  =========  =========  ===============  ===========================
   weight_stationary    C          K          P x R            the R weights of (k, c)
   output_stationary    P          K          C x R            the 32-bit psum of (k, p)
   input_stationary     C          P          K x R            the R-input window of (c, p)
   ===================  =========  =========  ===============  ===========================

   with folds ``f_row = ceil(rows_dim / rows)``, ``f_col = ceil(cols_dim / cols)`` (the ceil
   is where utilisation is lost) and ``compute cycles = G * f_row * f_col * temporal``. One
   MAC per PE per cycle in steady state. Operands reach the PEs by multicast (assumption 4),
   not by PE-to-PE systolic forwarding, so there is no per-fold fill/drain of ~``2*rows +
   cols`` cycles (a systolic array such as SCALE-Sim's pays it); the next fold's stationary
   operand is loaded while the current one computes (the RF's spare sets, or hidden by the
   NoC-bandwidth bound of assumption 6). Idle PEs are clock-gated (energy counts real MACs only).
3. *RF (per PE)*: must hold one stationary set (``R`` B for WS/IS, 4 B for OS) plus operand
   registers for the two streamed operands (WS/IS: 1 B + a 4-B psum = 5 B; OS: 1 B + 1 B =
   2 B). A design whose RF cannot is **infeasible** (:class:`~archgym.simulator.SimulationError`
   naming layer and requirement). Spare capacity holds ``n = floor((rf - regs) / set)`` sets,
   i.e. several folds at once. Each MAC makes 10 B of RF accesses (1-B weight read, 1-B input
   read, 4-B psum read and write).
4. *GLB <-> array traffic* (the NoC; the GLB reads/writes the same bytes). Multicast: an element
   sent once reaches every PE of the fold that needs it *in the same cycle* (e.g. an input to all
   the output-channel columns). There is no line buffer and no PE-to-PE forwarding, and the
   streamed operands have one-element registers, so the sliding-window overlap of neighbouring
   outputs is not reused: the PEs receive ``Ie = C * P * R`` input operands per pass (one per
   output pixel x filter tap, the im2col volume; ``Ie = I`` for a stride-1 1x1 conv), and under
   IS each PE loads its own ``R``-input window. Which folds the ``n`` RF sets hold follows from
   the one-element registers (a register reuses its operand only across the innermost loop):

   * WS / IS: ``n_row = min(f_row, n)`` input-channel folds, looped innermost after the taps, so
     a partial sum stays in the PE's psum register over ``R * n_row`` MACs (``n_col = 1``);
   * OS: either ``n_row = min(f_row, n)`` pixel folds innermost (the weight register is reused
     ``n_row`` times) or ``n_col = min(f_col, n)`` output-channel folds innermost (the input
     register is reused), whichever moves fewer bytes; the psums stay in the RF either way.

   The stationary operand is sent once; a streamed operand is re-sent once per pass over the
   folds of the dimension it does not depend on:

   * WS: ``W + Ie * f_col + psum(ceil(f_row / n_row))``
   * OS: ``W * ceil(f_row / n_row) + Ie * ceil(f_col / n_col) + O``
   * IS: ``Ie + W * f_col + psum(ceil(f_row / n_row))``

   where ``psum(passes) = O * (8 * (passes - 1) + 1)``: partial sums of a reduction split over
   input-channel folds go to the GLB and back at 4 B per element per extra pass, the final
   outputs leave at 1 B. :func:`temporal_loop_order` writes this mapping as a loop order (the
   ZigZag back-end's ``mapping="fixed"`` runs it).
5. *GLB tiling (DRAM traffic)*, capacity ``S`` bytes, full-width rows, no capacity reserved for
   double buffering. The smallest tile, one output row of one output channel over ``c`` input
   channels, needs ``c * (R + FY * IX') + 4 * OX`` bytes; if even ``c = 1`` does not fit the
   design is infeasible. Otherwise the input channels split into the fewest ``nC`` parts that
   fit (each extra part sends the 4-B partial sums to DRAM and back: ``+ 8 * O * (nC - 1)``)
   and the better of two loop orders is taken:

   * *weights resident*: ``k`` output channels' weights stay while a ``FY``-row line buffer
     streams the input; ``k = min(K, floor((S - c*FY*IX') / (c*R + 4*OX)))``:
     ``W + ceil(K / k) * I``;
   * *inputs resident*: ``y`` output rows' inputs stay while the weights stream;
     ``y = min(OY, floor((S - c*R - c*IX'*max(FY - s, 0)) / (c*IX'*min(s, FY) + 4*OX)))``:
     ``I + (ceil(OY / y) - 1) * C * IX' * max(FY - s, 0) + ceil(OY / y) * W`` (halo rows re-read).

   plus ``O`` for the outputs. Under WS this GLB-level order is independent of the array's.
   IS and OS re-stream the weights to the array, so there it is not: IS streams every weight
   once per pixel fold (assumption 4), so unless the weights of all ``K``
   output channels fit beside one fold's input rows and partial sums (``c*K*R + c*FY*IX' +
   4*K*min(P, cols) <= S``: ``W + I``) each pixel fold re-reads them from DRAM: ``I + f_col * W``
   (keeping a block of output channels instead would re-send the stationary inputs per block).
   OS likewise streams the weights once per pass over the pixel folds (``r_row =
   ceil(f_row / n_row)`` passes), the weights of the ``n_col`` column folds held in the RF
   reused across the pixel folds: if they do not fit (``k < min(K, n_col * cols)``) every pass
   re-reads them from DRAM: ``I + r_row * W``. DRAM traffic never grows when the GLB grows.
6. *Latency* per layer = ``max(compute, NoC bytes / noc_bw, GLB bytes / (16 B x glb_banks),
   DRAM bytes / dram_bw)`` cycles (double-buffered transfers overlap compute); GLB bytes are the
   array-side bytes plus the DRAM-side fills and drains. The network's latency is the sum over
   layers x repeat. ``utilization = MACs / (PEs x latency_cycles)``.
7. *Energy* = MACs x 0.3 pJ + RF bytes x e(rf_bytes) + NoC bytes x e_noc(PEs) + GLB bytes x
   e(glb_bytes / glb_banks) + DRAM bytes x 162.5 pJ, on-chip terms scaled by the clock's
   voltage factor (:mod:`.energy`). *Area*: :func:`.energy.area_breakdown_mm2`.

8. *Systolic timing* (``AnalyticalAccelerator(array="systolic")``, off by default). The array
   is a weight/output/input-stationary systolic array as SCALE-Sim models it (Samajdar et al.,
   "A Systematic Methodology for Characterizing Scalability of DNN Accelerators using
   SCALE-Sim", ISPASS 2020, the first-order runtime model of its section III): each PE holds
   one element of the stationary operand, so the layer is its im2col GEMM and the reduction
   ``C*R`` lies on the rows (WS: rows ``C*R``, cols ``K``, ``T = P``; OS: rows ``P``, cols
   ``K``, ``T = C*R``; IS: rows ``C*R``, cols ``P``, ``T = K``; a depthwise layer is ``G``
   groups of ``C = K = 1``, its ``R``-tap window on the rows, as SCALE-Sim runs it). A fold
   takes ``T`` cycles of streamed operands plus ``rows + cols - 2`` of skew to cross the array,
   plus, under WS / IS, ``rows`` to shift the stationary operand in: ``2*rows + cols + T - 2``
   (the paper's formula) for WS / IS and ``rows + cols + T - 2`` for OS (SCALE-Sim's code,
   ``compute/systolic_compute_os.py``, drains the outputs in the ``cols - 1`` cycles it leaves
   between folds, not in another ``rows``). Operands enter and results leave at the array's
   edges, so the skew spans the whole array even in a partial fold (SCALE-Sim pads partial
   folds to the full array likewise); folds run one after another, so ``compute = G * f_row *
   f_col * per-fold cycles``. Operands are forwarded PE to PE,
   so the NoC-bandwidth term of assumption 6 drops (``noc_cycles`` = 0). Double buffering
   hides the transfers of every tile but the first and the last: the first fill of the GLB's
   active half must arrive before compute starts and the last outputs leave after it ends
   (as in SCALE-Sim, whose total cycles run from the first DRAM prefetch to the last
   write-back): ``prefetch = G * min(W + I, S / 2) / dram_bw``, ``writeback = G * min(O, S / 2)
   / dram_bw`` (both capped at the layer's DRAM bytes; one group at a time, as the SCALE-Sim
   back-end runs them), and ``latency = prefetch + max(compute, GLB cycles, the other DRAM
   bytes / dram_bw) + writeback``. Traffic counts, energy, area and the
   feasibility rules (assumptions 3-5, 7) stay those of the multicast mapping: the option
   changes timing only.

What it does not model: a mapper search beyond the choices above (OS's innermost fold, the
two GLB loop orders), row-stationary dataflow, sliding-window reuse hardware, sparsity, NoC
contention, DRAM row-buffer effects (see the DRAM env for those), leakage.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from archgym.errors import UserError
from archgym.simulator import Metrics, SimulationError

from .base import AcceleratorSimulator
from .energy import DRAM_PJ_PER_BYTE, MAC_PJ, area_breakdown_mm2, noc_pj_per_byte, sram_pj_per_byte, voltage_scale
from .hardware import (BASELINE_DESIGN, DATAFLOW_ALIASES, DATAFLOWS, GLB_BANK_BYTES_PER_CYCLE, PARAMETER_VALUES,
                       PSUM_BYTES, AcceleratorDesign, derived_metrics)
from .layers import Layer, Workload, load_workload

__all__ = ["ARRAYS", "AnalyticalAccelerator", "BatchResult", "Breakdown", "temporal_loop_order"]

#: timing modes of the PE array (the ``array`` option): multicast-fed PEs, or a systolic array
ARRAYS = ("multicast", "systolic")

#: RF bytes accessed per MAC: weight read, input read, psum read and write
RF_BYTES_PER_MAC = 1 + 1 + PSUM_BYTES + PSUM_BYTES
_WS, _OS, _IS = 0, 1, 2
_DATAFLOW_CODE = {name: i for i, name in enumerate(DATAFLOWS)}
_DATAFLOW_CODE.update({alias: _DATAFLOW_CODE[name] for alias, name in DATAFLOW_ALIASES.items()})
_PARAMETERS = tuple(PARAMETER_VALUES)
_NUMERIC = tuple(p for p in _PARAMETERS if p != "dataflow")
_KNOWN = frozenset(_PARAMETERS)
_GET_ALL = operator.itemgetter(*_PARAMETERS)


@dataclass(frozen=True)
class BatchResult:
    """Metrics of many designs as arrays, with which designs could be mapped and why not."""

    metrics: dict[str, np.ndarray]
    feasible: np.ndarray
    errors: list[str | None]

    def __len__(self) -> int:
        return len(self.feasible)

    def row(self, index: int) -> dict[str, float]:
        return {name: float(values[index]) for name, values in self.metrics.items()}

    def to_dicts(self) -> list[dict[str, float]]:
        """One metrics dict per design (NaN for an infeasible one)."""
        names = list(self.metrics)
        return [dict(zip(names, values)) for values in zip(*(self.metrics[n].tolist() for n in names))]


@dataclass(frozen=True)
class Breakdown:
    """Where one design's time and energy go: per-layer figures (one instance of each layer,
    all groups) and whole-network totals of accesses (bytes), energy (pJ) and area (mm2)."""

    metrics: dict[str, float]
    layers: list[dict[str, Any]]
    counts: dict[str, float]
    unit_energy_pj: dict[str, float]
    energy_pj: dict[str, float]
    area_mm2: dict[str, float] = field(default_factory=dict)


class AnalyticalAccelerator(AcceleratorSimulator):
    """Closed-form loop-nest cost model of the DNN-accelerator template (see the module doc).

    Deterministic, numpy only, about a hundred thousand whole-network evaluations per second
    through :meth:`evaluate_batch`. :meth:`breakdown` shows the per-layer bounds and the
    access counts behind one design's metrics.
    """

    name = "accelerator-analytical"
    version = "1.1"  # 1.1: im2col input delivery, reduction folds innermost in the RF

    def __init__(self, array: str = "multicast") -> None:
        """``array``: ``"multicast"`` (the default: operands multicast over the NoC, transfers
        overlapped with compute) or ``"systolic"`` (per-fold fill/drain, PE-to-PE forwarding,
        first prefetch not overlapped: assumption 8 of the module doc)."""
        if array not in ARRAYS:
            raise UserError(f"array must be one of {', '.join(map(repr, ARRAYS))}, got {array!r}")
        self.array = array

    def options(self) -> dict[str, Any]:
        # the default has no options, so its fingerprint (and every cache keyed on it) is unchanged
        return {} if self.array == "multicast" else {"array": self.array}

    # -- the Simulator contract ----------------------------------------------------------
    def simulate(self, design: AcceleratorDesign, workload: Workload) -> Metrics:
        result = self.evaluate_arrays([design], workload)
        if not result.feasible[0]:
            raise SimulationError(result.errors[0])
        return result.row(0)

    def evaluate_batch(self, designs: Sequence[Mapping[str, Any]], workload: str | Workload) -> list[Metrics]:
        """Metrics of every design, vectorised; raises ``SimulationError`` naming the first
        design that cannot be mapped (:meth:`evaluate_arrays` reports them instead)."""
        if len(designs) == 0:
            return []
        result = self.evaluate_arrays(designs, workload)
        bad = np.flatnonzero(~result.feasible)
        if bad.size:
            raise SimulationError(f"design {int(bad[0])} of {len(result)}: {result.errors[int(bad[0])]}")
        return result.to_dicts()

    def evaluate_arrays(self, designs: Sequence[Mapping[str, Any]], workload: str | Workload) -> BatchResult:
        """Metrics of every design as arrays; infeasible designs get NaN and a reason in ``errors``."""
        table = _layer_table(load_workload(workload))
        columns = _design_columns(designs)
        out = _model(columns, table, systolic=self.array == "systolic")
        feasible = out["feasible"]
        metrics = {name: np.where(feasible, out[name], np.nan) for name in self.metric_names}
        errors: list[str | None] = [None] * len(feasible)
        for i in np.flatnonzero(~feasible):
            errors[i] = _infeasibility(columns, table, out, int(i))
        return BatchResult(metrics, feasible, errors)

    # -- explanation ---------------------------------------------------------------------
    def breakdown(self, design: Mapping[str, Any], workload: str | Workload) -> Breakdown:
        """Per-layer bounds and the access counts x unit energies behind ``design``'s metrics."""
        table = _layer_table(load_workload(workload))
        columns = _design_columns([design])
        out = _model(columns, table, systolic=self.array == "systolic")
        if not out["feasible"][0]:
            raise SimulationError(_infeasibility(columns, table, out, 0))
        layers = []
        for j, name in enumerate(table.names):
            layers.append({
                "name": name,
                "repeat": int(table.repeat[j]),
                "macs": float(table.macs[j]),
                **{key: float(out[key][0, j]) for key in
                   ("compute_cycles", "noc_cycles", "glb_cycles", "dram_cycles", "prefetch_cycles",
                    "writeback_cycles", "cycles", "spatial_utilization",
                    "noc_bytes", "glb_bytes", "dram_bytes_layer")},
            })
        counts = {key: float(out[f"count_{key}"][0]) for key in ("mac", "rf", "noc", "glb", "dram")}
        unit = {key: float(out[f"unit_{key}"][0]) for key in ("mac", "rf", "noc", "glb", "dram")}
        energy = {key: counts[key] * unit[key] for key in counts}
        area = {key: float(value[0]) for key, value in out["area"].items()}
        return Breakdown(_row(out, self.metric_names, 0), layers, counts, unit, energy, area)


#: one entry of a temporal loop order: loop dimensions and how much of them (None: all that is left)
LoopPart = tuple[tuple[str, ...], "int | None"]


def temporal_loop_order(design: Mapping[str, Any], layer: Layer) -> list[LoopPart]:
    """The analytical model's temporal loop order for ``layer`` on ``design``, innermost first.

    Each entry ``(dims, extent)`` stands for the next loops of ``dims`` (in that order) until
    they cover ``extent`` elements of those dimensions, counting what the array unrolls
    spatially (``None``: all that is left). This is the order the model's counts assume
    (assumptions 4 and 5), written for a mapper such as ZigZag's; innermost first:

    * the PE level: WS / IS: the taps, then the input-channel folds the RF holds (``n_row *
      rows`` channels: the reduction stays in the psum register); OS: the pixel folds
      (``n_row * rows`` pixels) or output-channel folds (``n_col * cols`` channels) the RF
      holds, then the taps and the input channels (the reduction stays in the RF);
    * the array level: WS: output columns; OS: output columns; IS: output channels (the
      stationary inputs reused), the other input-channel folds, output pixels;
    * the GLB level (assumption 5; WS and OS): *weights resident*: the input channels, ``k``
      output channels, the output rows, the other output channels (the input streams past
      ``k`` channels' weights, re-read ``ceil(K / k)`` times); *inputs resident*: ``y``
      output rows, the input channels, the output channels, the other output rows (the
      weights stream past ``y`` rows of input, re-read ``ceil(OY / y)`` times). IS keeps its
      array-level order (moving output channels outwards would re-send the stationary inputs).

    A design the model cannot map gets the order of one RF set (no error: a mapper may still
    fit it).
    """
    table = _layer_table(Workload.from_layers(layer.name, [layer]))
    columns = _design_columns([design])
    out = _model(columns, table)
    dataflow = int(columns["dataflow"][0, 0])
    rows, cols = int(columns["pe_rows"][0, 0]), int(columns["pe_cols"][0, 0])
    n_row, n_col = int(out["n_row"][0, 0]), int(out["n_col"][0, 0])
    taps: list[LoopPart] = [(("FX",), None), (("FY",), None)]
    if dataflow == _IS:
        return [*taps, (("C",), n_row * rows), (("K",), None), (("C",), None), (("OX",), None), (("OY",), None)]
    if bool(out["inputs_resident"][0, 0]):
        glb: list[LoopPart] = [(("OY",), int(out["glb_y"][0, 0])), (("C",), None), (("K",), None), (("OY",), None)]
    else:
        glb = [(("C",), None), (("K",), int(out["glb_k"][0, 0])), (("OY",), None), (("K",), None)]
    if dataflow == _WS:
        return [*taps, (("C",), n_row * rows), (("OX",), None), *glb]
    held: LoopPart = (("K",), n_col * cols) if n_col > 1 else (("OX", "OY"), n_row * rows)
    return [held, *taps, (("C",), None), (("OX",), None), *glb]


def _row(out: Mapping[str, Any], names: Sequence[str], index: int) -> dict[str, float]:
    return {name: float(out[name][index]) for name in names}


# -- inputs as arrays --------------------------------------------------------------------
@dataclass(frozen=True)
class _LayerTable:
    """A workload's layers as arrays of shape (1, L) (per group, one instance)."""

    names: tuple[str, ...]
    K: np.ndarray
    C: np.ndarray
    P: np.ndarray
    R: np.ndarray
    OY: np.ndarray
    OX: np.ndarray
    FY: np.ndarray
    FX: np.ndarray
    G: np.ndarray
    repeat: np.ndarray  # (L,)
    IXt: np.ndarray  # input columns touched
    halo: np.ndarray  # max(FY - s, 0): input rows shared by vertically adjacent outputs
    rows_per_out: np.ndarray  # min(s, FY): new input rows per output row
    W: np.ndarray
    I: np.ndarray
    Ie: np.ndarray  # C*P*R: input operands delivered to the PEs (one per output pixel x filter tap)
    O: np.ndarray
    macs: np.ndarray  # (L,) one instance, all groups
    total_macs: float


_TABLES: dict[tuple[str, str, str], _LayerTable] = {}


def _layer_table(workload: Workload) -> _LayerTable:
    key = (workload.name, workload.source, workload.digest)
    table = _TABLES.get(key)
    if table is None:
        table = _TABLES[key] = _build_table(workload)
    return table


def _build_table(workload: Workload) -> _LayerTable:
    def col(attr: str) -> np.ndarray:
        return np.array([getattr(layer, attr) for layer in workload.layers], dtype=np.float64)[None, :]

    K, C, OY, OX, FY, FX, G, s = (col(a) for a in ("K", "C", "OY", "OX", "FY", "FX", "G", "stride"))
    IYt = OY * np.minimum(s, FY) + np.maximum(FY - s, 0)
    IXt = OX * np.minimum(s, FX) + np.maximum(FX - s, 0)
    P, R = OY * OX, FY * FX
    repeat = col("repeat")[0]
    macs = (G * K * C * P * R)[0]
    return _LayerTable(
        names=tuple(layer.name for layer in workload.layers), K=K, C=C, P=P, R=R, OY=OY, OX=OX, FY=FY, FX=FX,
        G=G, repeat=repeat, IXt=IXt, halo=np.maximum(FY - s, 0), rows_per_out=np.minimum(s, FY),
        W=K * C * R, I=C * IYt * IXt, Ie=C * P * R, O=K * P, macs=macs, total_macs=float(macs @ repeat),
    )


def _design_columns(designs: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Designs as (D, 1) arrays (dataflow as a code); a bad design raises ``ValueError``."""
    rows = []
    for design in designs:
        if isinstance(design, AcceleratorDesign):
            rows.append(tuple(getattr(design, p) for p in _PARAMETERS))
        elif len(design) == len(_PARAMETERS) and _KNOWN.issuperset(design):
            rows.append(_GET_ALL(design))  # the common case: a complete design
        elif _KNOWN.issuperset(design):
            rows.append(tuple(design.get(p, BASELINE_DESIGN[p]) for p in _PARAMETERS))
        else:
            AcceleratorDesign.from_mapping(design)  # raises, naming the unknown parameter
    if not rows:
        raise ValueError("no designs to evaluate")
    values = dict(zip(_PARAMETERS, zip(*rows)))
    columns: dict[str, np.ndarray] = {}
    try:
        columns["dataflow"] = np.array([_DATAFLOW_CODE[str(v).lower()] for v in values["dataflow"]],
                                       dtype=np.int64)[:, None]
        for p in _NUMERIC:
            array = np.array(values[p], dtype=np.float64)
            if not np.all((array >= 1) & (array == np.floor(array))):
                raise ValueError(p)
            columns[p] = array[:, None]
    except (KeyError, ValueError, TypeError):
        for design in designs:  # the slow path names the offending design and value
            AcceleratorDesign.from_mapping(design)
        raise
    return columns


# -- the model ---------------------------------------------------------------------------
def _ceil_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.ceil(a / b)


def _rf_folds(df: np.ndarray, f_row: np.ndarray, f_col: np.ndarray, sets: np.ndarray,
              t: _LayerTable) -> tuple[np.ndarray, np.ndarray]:
    """Folds held in the RF at once along the rows and the columns (assumption 4).

    WS / IS: the spare sets hold input-channel (row) folds, the reduction, so partial sums stay
    in the PE's psum register. OS: the spare psum sets hold either pixel (row) folds, reusing
    the weight register, or output-channel (column) folds, reusing the input register; the
    cheaper of the two.
    """
    os_ = df == _OS
    n_row = np.minimum(f_row, sets)
    n_col = np.minimum(f_col, sets)
    pixels_inner = t.W * _ceil_div(f_row, n_row) + t.Ie * f_col
    channels_inner = t.W * f_row + t.Ie * _ceil_div(f_col, n_col)
    use_cols = os_ & (channels_inner < pixels_inner)
    return np.where(use_cols, 1.0, n_row), np.where(use_cols, n_col, 1.0)


def _model(d: Mapping[str, np.ndarray], t: _LayerTable, systolic: bool = False) -> dict[str, Any]:
    """All designs x all layers at once; returns (D, L) per-layer and (D,) per-design arrays.
    ``systolic``: the timing of assumption 8 instead of assumption 6."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _model_arrays(d, t, systolic)


def _systolic_compute(rows: np.ndarray, cols: np.ndarray, df: np.ndarray, t: _LayerTable) -> np.ndarray:
    """Compute cycles of a systolic array (assumption 8): the im2col GEMM, ``C*R`` on the rows
    for WS/IS; each fold ``rows + cols + T - 2`` cycles, plus ``rows`` under WS/IS to shift the
    stationary operand in."""
    window, ws, os_ = t.C * t.R, df == _WS, df == _OS
    row_dim = np.where(os_, t.P, window)
    col_dim = np.where(df == _IS, t.P, t.K)
    temporal = np.where(ws, t.P, np.where(os_, window, t.K))
    folds = _ceil_div(row_dim, rows) * _ceil_div(col_dim, cols)
    return t.G * folds * (np.where(os_, 1.0, 2.0) * rows + cols + temporal - 2)


def _model_arrays(d: Mapping[str, np.ndarray], t: _LayerTable, systolic: bool = False) -> dict[str, Any]:
    rows, cols, df = d["pe_rows"], d["pe_cols"], d["dataflow"]
    ws, os_, is_ = df == _WS, df == _OS, df == _IS

    # spatial unrolling and compute cycles (assumption 2)
    row_dim = np.where(os_, t.P, t.C)
    col_dim = np.where(is_, t.P, t.K)
    temporal = np.where(ws, t.P, np.where(os_, t.C, t.K)) * t.R
    f_row = _ceil_div(row_dim, rows)
    f_col = _ceil_div(col_dim, cols)
    compute = t.G * f_row * f_col * temporal
    spatial_util = (row_dim * col_dim) / (f_row * rows * f_col * cols)

    # RF: stationary sets (assumption 3)
    set_bytes = np.where(os_, float(PSUM_BYTES), t.R)
    regs = np.where(os_, 2.0, 1.0 + PSUM_BYTES)
    sets = np.floor((d["rf_bytes"] - regs) / set_bytes)
    rf_ok = sets >= 1
    sets = np.maximum(sets, 1.0)

    # GLB <-> array traffic for the RF allocation of assumption 4
    n_row, n_col = _rf_folds(df, f_row, f_col, sets, t)
    r_row = _ceil_div(f_row, n_row)
    r_col = _ceil_div(f_col, n_col)
    w_factor = np.where(ws, 1.0, np.where(os_, r_row, r_col))
    i_factor = np.where(is_, 1.0, r_col)
    passes = np.where(os_, 1.0, r_row)
    noc_bytes = t.G * (t.W * w_factor + t.Ie * i_factor + t.O * (2 * PSUM_BYTES * (passes - 1) + 1))

    # GLB tiling and DRAM traffic (assumption 5)
    S = d["glb_kib"] * 1024.0
    row_need = t.R + t.FY * t.IXt  # per input channel, one output row
    c_max = np.floor((S - PSUM_BYTES * t.OX) / row_need)
    glb_ok = c_max >= 1
    c_max = np.maximum(c_max, 1.0)
    n_c = _ceil_div(t.C, c_max)
    c = _ceil_div(t.C, n_c)
    k = np.clip(np.floor((S - c * t.FY * t.IXt) / (c * t.R + PSUM_BYTES * t.OX)), 1.0, t.K)
    weights_resident = t.W + _ceil_div(t.K, k) * t.I
    y = np.clip(np.floor((S - c * t.R - c * t.IXt * t.halo) / (c * t.IXt * t.rows_per_out + PSUM_BYTES * t.OX)),
                1.0, t.OY)
    n_y = _ceil_div(t.OY, y)
    inputs_resident = t.I + (n_y - 1) * t.C * t.IXt * t.halo + n_y * t.W
    # IS streams the weights to the array once per pixel fold: from the GLB if they all fit
    # beside the input rows of a fold and the 4-B partial sums of its K x cols outputs
    is_fits = c * t.K * t.R + c * t.FY * t.IXt + PSUM_BYTES * t.K * np.minimum(t.P, cols) <= S
    is_tiling = np.where(is_fits, t.W + t.I, t.I + f_col * t.W)
    # OS streams the weights once per pass over the pixel folds, the weights of the column
    # folds in the RF reused across the pixel folds: from the GLB if they fit (k >= n_col*cols)
    os_fits = (k >= np.minimum(t.K, n_col * cols)) | (r_row == 1)
    os_tiling = np.where(os_fits, np.minimum(weights_resident, inputs_resident), t.I + r_row * t.W)
    tiling = np.where(is_, is_tiling, np.where(os_, os_tiling, np.minimum(weights_resident, inputs_resident)))
    dram_bytes = t.G * (tiling + t.O + 2 * PSUM_BYTES * t.O * (n_c - 1))

    # latency (assumption 6)
    glb_bytes = noc_bytes + dram_bytes
    noc_cycles = noc_bytes / d["noc_bw"]
    glb_cycles = glb_bytes / (GLB_BANK_BYTES_PER_CYCLE * d["glb_banks"])
    dram_cycles = dram_bytes / d["dram_bw"]
    if systolic:  # assumption 8
        compute = _systolic_compute(rows, cols, df, t)
        noc_cycles = np.zeros_like(compute)
        prefetch_bytes = np.minimum(t.G * np.minimum(t.W + t.I, S / 2), dram_bytes)
        writeback_bytes = np.minimum(t.G * np.minimum(t.O, S / 2), dram_bytes - prefetch_bytes)
        prefetch_cycles = prefetch_bytes / d["dram_bw"]
        writeback_cycles = writeback_bytes / d["dram_bw"]
        hidden_dram = (dram_bytes - prefetch_bytes - writeback_bytes) / d["dram_bw"]
        cycles = prefetch_cycles + np.maximum(compute, np.maximum(glb_cycles, hidden_dram)) + writeback_cycles
    else:
        prefetch_cycles = writeback_cycles = np.zeros_like(compute)
        cycles = np.maximum(np.maximum(compute, noc_cycles), np.maximum(glb_cycles, dram_cycles))
    latency = cycles @ t.repeat

    # energy (assumption 7)
    num_pes = rows[:, 0] * cols[:, 0]
    vscale = voltage_scale(d["clock_mhz"][:, 0])
    counts = {
        "mac": np.full(len(df), t.total_macs),
        "rf": np.full(len(df), t.total_macs * RF_BYTES_PER_MAC),
        "noc": noc_bytes @ t.repeat,
        "glb": glb_bytes @ t.repeat,
        "dram": dram_bytes @ t.repeat,
    }
    unit = {
        "mac": MAC_PJ * vscale,
        "rf": sram_pj_per_byte(d["rf_bytes"][:, 0]) * vscale,
        "noc": noc_pj_per_byte(num_pes) * vscale,
        "glb": sram_pj_per_byte(S[:, 0] / d["glb_banks"][:, 0]) * vscale,
        "dram": np.full(len(df), DRAM_PJ_PER_BYTE),
    }
    energy = sum(counts[key] * unit[key] for key in counts)
    area = area_breakdown_mm2(rows[:, 0], cols[:, 0], d["rf_bytes"][:, 0], d["glb_kib"][:, 0],
                              d["glb_banks"][:, 0], d["noc_bw"][:, 0], d["dram_bw"][:, 0])
    total_area = sum(area.values())

    out: dict[str, Any] = derived_metrics(latency_cycles=latency, energy_pj=energy, area_mm2=total_area,
                                          macs=t.total_macs, num_pes=num_pes, clock_mhz=d["clock_mhz"][:, 0],
                                          dram_bytes=counts["dram"])
    rf_ok_all, glb_ok_all = rf_ok.all(axis=1), glb_ok.all(axis=1)
    out.update(
        feasible=rf_ok_all & glb_ok_all & np.isfinite(latency) & np.isfinite(energy),
        rf_ok=rf_ok, glb_ok=glb_ok, n_row=n_row, n_col=n_col,
        inputs_resident=inputs_resident < weights_resident, glb_k=k, glb_y=y,
        compute_cycles=compute, noc_cycles=noc_cycles, glb_cycles=glb_cycles,
        dram_cycles=dram_cycles, prefetch_cycles=prefetch_cycles, writeback_cycles=writeback_cycles, cycles=cycles,
        spatial_utilization=spatial_util, noc_bytes=noc_bytes,
        glb_bytes=glb_bytes, dram_bytes_layer=dram_bytes, area=area,
        **{f"count_{k}": v for k, v in counts.items()}, **{f"unit_{k}": v for k, v in unit.items()},
    )
    return out


def _infeasibility(d: Mapping[str, np.ndarray], t: _LayerTable, out: Mapping[str, Any], i: int) -> str:
    """Why design ``i`` cannot be mapped: the first layer that does not fit, and what it needs."""
    dataflow = DATAFLOWS[int(d["dataflow"][i, 0])]
    bad_rf = np.flatnonzero(~out["rf_ok"][i])
    if bad_rf.size:
        j = int(bad_rf[0])
        fy, fx = int(t.FY[0, j]), int(t.FX[0, j])
        if dataflow == "output_stationary":
            need, what = PSUM_BYTES + 2, "a 4-B partial sum + 2 B of operand registers"
        else:
            operand = "weight" if dataflow == "weight_stationary" else "input"
            need, what = fy * fx + 1 + PSUM_BYTES, f"a {fy}x{fx} {operand} window + 5 B of operand registers"
        return (f"infeasible: rf_bytes={int(d['rf_bytes'][i, 0])} is too small for {dataflow} on layer "
                f"{t.names[j]!r}: each PE needs {need} B ({what})")
    bad_glb = np.flatnonzero(~out["glb_ok"][i])
    if bad_glb.size:
        j = int(bad_glb[0])
        need = int(t.R[0, j] + t.FY[0, j] * t.IXt[0, j] + PSUM_BYTES * t.OX[0, j])
        return (f"infeasible: glb_kib={int(d['glb_kib'][i, 0])} cannot hold one output row of layer "
                f"{t.names[j]!r}: needs {need} B (one input channel's {int(t.FY[0, j])} input rows and filter, "
                f"4-B partial sums for {int(t.OX[0, j])} outputs)")
    return "infeasible: the model produced a non-finite latency or energy"
