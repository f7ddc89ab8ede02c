"""``ZigZagAccelerator``: the accelerator template evaluated by ZigZag (KU Leuven), layer by layer.

ZigZag (``pip install 'archgym[zigzag]'``, package ``zigzag-dse``; Mei et al., IEEE TC 2021)
is an analytical cost model with a mapper: given a memory hierarchy, a MAC array, a layer and a
spatial unrolling it allocates the temporal loops to memory levels and reports latency
(including stalls from port bandwidth and the loading/off-loading of data) and energy from
per-access costs. This back-end builds the template of :mod:`.hardware` as a ZigZag
accelerator in memory (no YAML files, no CACTI) and runs each distinct layer once.

The template in ZigZag terms (all sizes from the design; memories listed innermost first)
------------------------------------------------------------------------------------------
* **Operational array** ``D1 x D2 = pe_rows x pe_cols`` of 8-bit MACs (``MAC_PJ`` each).
* **Per PE** (served dimensions ``[]``), the RF of ``rf_bytes`` split as the analytical model
  splits it: the stationary operand's scratchpad plus one-element registers for the two
  streamed operands:

  ==================  =====================  ============================  ======================
  dataflow            spatial D1 x D2        scratchpad (rf_bytes - regs)  registers
  ==================  =====================  ============================  ======================
  weight_stationary   C x K                  weights (I2)                  input 1 B, psum 4 B
  output_stationary   OY*OX x K              partial sums (O)              weight 1 B, input 1 B
  input_stationary    C x OY*OX              inputs (I1)                   weight 1 B, psum 4 B
  ==================  =====================  ============================  ======================

  (``OY*OX`` is unrolled as OX first, then OY with what is left of the dimension.)
* **GLB**: ``glb_kib`` KiB holding all three operands, served to the whole array; a read and a
  write port of ``min(noc_bw, 16 B x glb_banks)`` bytes/cycle each (the NoC and the banks'
  ports, as the analytical model bounds them).
* **DRAM**: one read/write port of ``dram_bw`` bytes/cycle.

Energies per byte come from :mod:`.energy` (the analytical model's table): RF and registers
``sram_pj_per_byte(rf_bytes)``, GLB ``sram_pj_per_byte(glb_bytes / glb_banks)``, DRAM
``DRAM_PJ_PER_BYTE``. ZigZag has no NoC model, so NoC energy is added afterwards:
``noc_pj_per_byte(PEs)`` per byte that ZigZag moves between the GLB and the PEs. ZigZag runs
at the nominal voltage; the on-chip energy is then scaled by :func:`.energy.voltage_scale`
(the clock does not change ZigZag's cycle counts, so it is left out of the per-layer cache
key). ``area_mm2`` is the shared area model :func:`.energy.area_breakdown_mm2` (ZigZag
reports no area for this template). ``dram_bytes`` is ZigZag's DRAM read + write traffic.

Mappings
--------
* ``mapping="fixed"`` (default, ~0.02-0.2 s a layer): the spatial unrolling above and, per
  design and layer, the temporal loop order the analytical model's counts assume
  (:func:`.analytical.temporal_loop_order`, its assumptions 4 and 5): for WS and IS the filter
  taps and then the input-channel folds that fit in the RF innermost, so partial sums stay in
  the PE's psum register; for OS the pixel or output-channel folds held in the RF innermost,
  then taps and input channels; then the remaining folds, with output channels or output rows
  outermost as the analytical GLB tiling chose. Each loop is split into its prime factors and
  an RF part takes factors up to the number of folds the RF holds; ZigZag's memory allocator
  then assigns the loops to the memory levels up to their capacities. The comparison with the
  analytical model is therefore one of cost models under the same mapping, not of mappings.
* ``mapping="loma"`` (~2-5 s a layer at ``lpf_limit=6``): ZigZag's LOMA search over temporal
  loop orders for the same spatial unrolling, keeping the best by ``objective``.

Semantics shared with the other back-ends: 8-bit operands, 32-bit partial sums, batch 1,
layers one after another, each layer reading inputs and weights from DRAM and writing outputs
back; a layer's cost is multiplied by its ``repeat``.

Feasibility differs from the analytical model's: ZigZag's memory hierarchy is *inclusive*
(every level holds all the data of the loops allocated below it) and its allocator fills each
level greedily, so a design whose PE scratchpads together can hold more than the GLB
(``pe_rows * pe_cols * rf_bytes > glb_kib * 1024``, about a fifth of the env's design space)
is usually infeasible once a layer has enough data to fill them, under either mapping (e.g. a
64x64 array with 1 KiB scratchpads over a 32 KiB GLB). Such a design raises
:class:`~archgym.simulator.SimulationError` naming the layer, with ``infeasible:`` and ZigZag's
reason; any other ZigZag failure and a layer that exceeds ``timeout_s`` raise it too.

Each layer runs in a child process with a private temporary working directory (see
:mod:`._worker`); results are cached per ``(design, layer shape)`` for the life of the object.
"""

from __future__ import annotations

import importlib.util
import math
import os
from typing import Any, Literal, Mapping

from archgym.errors import UserError
from archgym.simulator import Metrics, SimulationError

from .layer_jobs import LayerJobSimulator
from .energy import (DRAM_PJ_PER_BYTE, MAC_PJ, noc_pj_per_byte, sram_pj_per_byte,
                     voltage_scale)
from .analytical import temporal_loop_order
from .hardware import AcceleratorDesign
from .layers import Layer, Workload, load_workload

__all__ = ["ZigZagAccelerator", "zigzag_available", "ZIGZAG_INSTALL_HINT"]

ZIGZAG_INSTALL_HINT = "pip install 'archgym[zigzag]'"
#: bits of a partial sum / of an 8-bit operand
PSUM_BITS = 32
OPERAND_BITS = 8
#: bytes per cycle of one GLB bank's port (as in the analytical model)
GLB_BANK_BYTES_PER_CYCLE = 16
#: what the PE registers of the streamed operands take out of rf_bytes, per dataflow
_REGISTER_BYTES = {"weight_stationary": 1 + PSUM_BITS // 8, "output_stationary": 2,
                   "input_stationary": 1 + PSUM_BITS // 8}
_JOB = f"{__name__}:_run_layer"
#: ZigZag's exceptions for a mapping that does not fit the memories (matched by name)
_CAPACITY_ERRORS = frozenset({"MemoryTooSmallException", "MemoryHierarchyTooSmallException",
                              "NoValidLoopOrderingFoundException"})


def zigzag_available() -> bool:
    """Whether ZigZag and the ``six`` module it imports without declaring it are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("zigzag", "six"))


def _require_zigzag() -> None:
    missing = [name for name in ("zigzag", "six") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(f"the ZigZag accelerator back-end needs the package(s) {', '.join(missing)} "
                          f"(zigzag-dse imports six without declaring it): {ZIGZAG_INSTALL_HINT}")


class ZigZagAccelerator(LayerJobSimulator):
    """The accelerator template evaluated by ZigZag, one layer shape at a time (see the module doc).

    ``mapping``: ``"fixed"`` (the analytical model's loop order for the design and layer, fast)
    or ``"loma"`` (ZigZag's LOMA temporal-mapping search); ``objective`` picks LOMA's best
    mapping (``"latency"``, ``"energy"`` or ``"edp"``); ``lpf_limit`` bounds LOMA's search
    (loop prime factors permuted). ``timeout_s`` bounds each layer (``None``: no limit); ``processes`` runs that
    many layers at once in child processes; ``isolate=False`` runs ZigZag in this process
    instead (no time limit, no parallelism; for debugging). ``cache_size`` layer results are
    kept.
    """

    name = "accelerator-zigzag"
    version = "1.1"  # 1.1: the fixed order follows the analytical model per design
    job = _JOB
    preload = ("zigzag.api", __name__)

    def __init__(self, mapping: Literal["fixed", "loma"] = "fixed", *,
                 objective: Literal["latency", "energy", "edp"] = "edp", lpf_limit: int = 6,
                 timeout_s: float | None = 600.0, processes: int = 1, isolate: bool = True,
                 cache_size: int = 65536) -> None:
        _require_zigzag()
        if mapping not in ("fixed", "loma"):
            raise UserError(f"mapping must be 'fixed' or 'loma', got {mapping!r}")
        if objective not in ("latency", "energy", "edp"):
            raise UserError(f"objective must be 'latency', 'energy' or 'edp', got {objective!r}")
        if lpf_limit < 1:
            raise UserError(f"lpf_limit must be >= 1, got {lpf_limit}")
        self.mapping = mapping
        self.objective = objective
        self.lpf_limit = int(lpf_limit)
        super().__init__(timeout_s=timeout_s, processes=processes, isolate=isolate, cache_size=cache_size)

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"mapping": self.mapping}
        if self.mapping == "loma":
            options.update(objective=self.objective, lpf_limit=self.lpf_limit)
        return options

    # -- evaluation ----------------------------------------------------------------------
    def simulate(self, design: AcceleratorDesign, workload: Workload) -> Metrics:
        results = self.layer_results(design, workload)
        latency = sum(r["cycles"] * layer.repeat for r, layer in zip(results, workload.layers))
        scale = float(voltage_scale(design.clock_mhz))
        energy = sum((r["onchip_pj"] * scale + r["dram_pj"]) * layer.repeat
                     for r, layer in zip(results, workload.layers))
        dram = sum(r["dram_bytes"] * layer.repeat for r, layer in zip(results, workload.layers))
        return self.network_metrics(design, workload, latency_cycles=latency, energy_pj=energy, dram_bytes=dram)

    def layer_report(self, design: Mapping[str, Any], workload: str | os.PathLike[str] | Workload
                     ) -> list[dict[str, Any]]:
        """Per-layer ZigZag figures for one instance of each layer (cycles, energies, traffic)."""
        design = AcceleratorDesign.from_mapping(design)
        workload = load_workload(workload)
        scale = float(voltage_scale(design.clock_mhz))
        report = []
        for layer, r in zip(workload.layers, self.layer_results(design, workload)):
            report.append({"name": layer.name, "repeat": layer.repeat, "macs": float(layer.macs), **r,
                           "energy_pj": r["onchip_pj"] * scale + r["dram_pj"]})
        return report

    def hardware_key(self, design: AcceleratorDesign) -> tuple:
        return _hardware_key(design)

    def layer_key(self, layer: Layer) -> tuple:
        return _layer_key(layer)

    def job_name(self, layer: Layer) -> str:
        return _job_name(layer)

    def payload(self, design: AcceleratorDesign, layer: Layer) -> dict[str, Any]:
        return {
            "design": design.to_dict(),
            "layer": {"K": layer.K, "C": layer.C, "OY": layer.OY, "OX": layer.OX, "FY": layer.FY, "FX": layer.FX,
                      "G": layer.G, "stride": layer.stride},
            "mapping": self.mapping,
            "objective": self.objective,
            "lpf_limit": self.lpf_limit,
            "temporal_order": temporal_loop_order(design, layer) if self.mapping == "fixed" else None,
        }


def _hardware_key(design: AcceleratorDesign) -> tuple:
    """Everything in the design that changes ZigZag's run (the clock only scales energy afterwards)."""
    return (design.pe_rows, design.pe_cols, design.dataflow, design.rf_bytes, design.glb_kib, design.glb_banks,
            design.noc_bw, design.dram_bw)


def _layer_key(layer: Layer) -> tuple:
    return (layer.K, layer.C, layer.OY, layer.OX, layer.FY, layer.FX, layer.G, layer.stride)


def _job_name(layer: Layer) -> str:
    """How errors name a layer's job."""
    return (f"ZigZag on layer {layer.name!r} (K={layer.K} C={layer.C} OY={layer.OY} OX={layer.OX} FY={layer.FY} "
            f"FX={layer.FX} G={layer.G} stride={layer.stride})")


# -- what runs in the worker ---------------------------------------------------------------
def _port(name: str, kind: str, bytes_per_cycle: int, allocation: list[str]) -> dict[str, Any]:
    # bandwidth_min of one byte: ZigZag counts accesses in bytes, so energy is per byte moved
    return {"name": name, "type": kind, "bandwidth_min": OPERAND_BITS, "bandwidth_max": 8 * bytes_per_cycle,
            "allocation": allocation}


def _memory(size_bytes: int, pj_per_byte: float, word_bytes: int, operands: list[str], ports: list[dict[str, Any]],
            served: list[str]) -> dict[str, Any]:
    cost = float(pj_per_byte) * word_bytes  # ZigZag's cost is per access of the port's full width
    return {"size": int(size_bytes) * 8, "r_cost": cost, "w_cost": cost, "area": 0.0, "latency": 1,
            "operands": operands, "ports": ports, "served_dimensions": served, "auto_cost_extraction": False}


def _register(operand: str, size_bytes: int, pj_per_byte: float) -> dict[str, Any]:
    """A per-PE memory for one operand, one element wide (psums: 4 B; others 1 B)."""
    width = PSUM_BITS // 8 if operand == "O" else 1
    if operand == "O":
        ports = [_port("r_port_1", "read", width, ["O, tl", "O, th"]),
                 _port("w_port_1", "write", width, ["O, fh", "O, fl"])]
    else:
        ports = [_port("r_port_1", "read", width, [f"{operand}, tl"]),
                 _port("w_port_1", "write", width, [f"{operand}, fh"])]
    return _memory(size_bytes, pj_per_byte, width, [operand], ports, [])


def _accelerator_data(design: dict[str, Any]) -> dict[str, Any]:
    """The template as ZigZag's accelerator description (a dict; memories innermost first)."""
    dataflow = design["dataflow"]
    rf_pj = float(sram_pj_per_byte(design["rf_bytes"]))
    regs = _REGISTER_BYTES[dataflow]
    pad = max(design["rf_bytes"] - regs, 1)
    memories: dict[str, Any] = {}
    if dataflow == "weight_stationary":
        memories["rf_weights"] = _register("I2", pad, rf_pj)
        memories["reg_input"] = _register("I1", 1, rf_pj)
        memories["reg_psum"] = _register("O", PSUM_BITS // 8, rf_pj)
    elif dataflow == "output_stationary":
        memories["rf_psums"] = _register("O", max(pad, PSUM_BITS // 8), rf_pj)
        memories["reg_weight"] = _register("I2", 1, rf_pj)
        memories["reg_input"] = _register("I1", 1, rf_pj)
    else:
        memories["rf_inputs"] = _register("I1", pad, rf_pj)
        memories["reg_weight"] = _register("I2", 1, rf_pj)
        memories["reg_psum"] = _register("O", PSUM_BITS // 8, rf_pj)
    glb_bytes = design["glb_kib"] * 1024
    glb_bw = max(1, min(design["noc_bw"], GLB_BANK_BYTES_PER_CYCLE * design["glb_banks"]))
    memories["glb"] = _memory(
        glb_bytes, float(sram_pj_per_byte(glb_bytes / design["glb_banks"])), glb_bw, ["I1", "I2", "O"],
        [_port("r_port_1", "read", glb_bw, ["I1, tl", "I2, tl", "O, tl", "O, th"]),
         _port("w_port_1", "write", glb_bw, ["I1, fh", "I2, fh", "O, fh", "O, fl"])],
        ["D1", "D2"])
    memories["dram"] = _memory(
        1 << 40, DRAM_PJ_PER_BYTE, design["dram_bw"], ["I1", "I2", "O"],
        [_port("rw_port_1", "read_write", design["dram_bw"],
               ["I1, fh", "I1, tl", "I2, fh", "I2, tl", "O, fh", "O, tl", "O, fl", "O, th"])],
        ["D1", "D2"])
    return {
        "name": f"archgym-{dataflow}",
        "memories": memories,
        "operational_array": {"unit_energy": MAC_PJ, "unit_area": 0.0, "dimensions": ["D1", "D2"],
                              "sizes": [design["pe_rows"], design["pe_cols"]]},
    }


def _pixels_unrolling(layer: dict[str, int], size: int) -> list[str]:
    """Unroll ``OY*OX`` over an array dimension of ``size``: OX first, then OY with the rest."""
    ox = min(layer["OX"], size)
    oy = min(layer["OY"], max(size // ox, 1))
    return [f"OX, {ox}"] + ([f"OY, {oy}"] if oy > 1 else [])


def _spatial_mapping(dataflow: str, layer: dict[str, int], rows: int, cols: int) -> dict[str, list[str]]:
    if dataflow == "weight_stationary":
        return {"D1": [f"C, {min(layer['C'], rows)}"], "D2": [f"K, {min(layer['K'], cols)}"]}
    if dataflow == "output_stationary":
        return {"D1": _pixels_unrolling(layer, rows), "D2": [f"K, {min(layer['K'], cols)}"]}
    return {"D1": [f"C, {min(layer['C'], rows)}"], "D2": _pixels_unrolling(layer, cols)}


def _workload_data(layer: dict[str, int]) -> list[dict[str, Any]]:
    s = layer["stride"]
    return [{
        "id": 0,
        "name": "layer",
        "operator_type": "Conv",
        "equation": "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]",
        "dimension_relations": [f"ix={s}*ox+1*fx", f"iy={s}*oy+1*fy"],
        "loop_dims": ["B", "G", "K", "C", "OY", "OX", "FY", "FX"],
        "loop_sizes": [1, layer["G"], layer["K"], layer["C"], layer["OY"], layer["OX"], layer["FY"], layer["FX"]],
        "operand_precision": {"I": OPERAND_BITS, "W": OPERAND_BITS, "O": PSUM_BITS, "O_final": OPERAND_BITS},
        "operand_source": {"I": 0},
    }]


def _prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while p * p <= n:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    if n > 1:
        factors.append(n)
    return factors


def _ordered_factors(loops: dict[Any, int], order: list[tuple[tuple[str, ...], int | None]],
                     spatial: Mapping[str, int]) -> list[tuple[Any, int]]:
    """ZigZag's temporal loops (``{LayerDim: size}``) as prime factors in ``order``, innermost first.

    ``order`` is :func:`.analytical.temporal_loop_order`'s: each ``(dims, extent)`` takes the
    remaining prime factors of ``dims`` (smallest first) while ``dims`` stay within ``extent``
    elements so far: the spatial unrolling ``spatial`` (dimension -> unrolled size) and the
    factors already placed further in included (``None``: all of them). Loops the order leaves
    out (B, G, what is left) go outermost.
    """
    remaining = {dim.name: (dim, _prime_factors(int(size))) for dim, size in loops.items()}
    # what each dimension covers so far (one unrolled in full has no temporal loop but counts)
    covered = {**{name: 1 for name in remaining}, **spatial}
    ordering: list[tuple[Any, int]] = []
    for dims, extent in order:
        product = math.prod(covered.get(name, 1) for name in dims)
        for name in dims:
            if name not in remaining:
                continue
            dim, factors = remaining[name]
            while factors and (extent is None or product * factors[0] <= extent):
                product *= factors[0]
                covered[name] *= factors[0]
                ordering.append((dim, factors.pop(0)))
    for name in sorted(remaining):
        dim, factors = remaining[name]
        ordering.extend((dim, factor) for factor in factors)
    return ordering


def _run_layer(payload: dict[str, Any]) -> dict[str, float]:
    """Run ZigZag on one layer of one design; returns cycles, energies (nominal voltage) and traffic."""
    from zigzag.datatypes import LayerDim
    from zigzag.mapping.data_movement import DataDirection
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.opt.loma.engine import LomaEngine
    from zigzag.opt.loma.memory_allocator import MemoryAllocator
    from zigzag.parser.accelerator_factory import AcceleratorFactory
    from zigzag.parser.accelerator_validator import AcceleratorValidator
    from zigzag.parser.mapping_validator import MappingValidator
    from zigzag.parser.workload_factory import WorkloadFactory
    from zigzag.parser.workload_validator import WorkloadValidator
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
    from zigzag.stages.results.reduce_stages import MinimalEDPStage, MinimalEnergyStage, MinimalLatencyStage
    from zigzag.stages.stage import Stage

    design, layer = payload["design"], payload["layer"]
    dataflow = design["dataflow"]

    validator = AcceleratorValidator(_accelerator_data(design))
    accelerator_data = validator.normalized_data
    if not validator.validate():
        raise ValueError(f"ZigZag rejected the accelerator description: {validator.validator.errors}")
    accelerator = AcceleratorFactory(accelerator_data).create()

    spatial_mapping = _spatial_mapping(dataflow, layer, design["pe_rows"], design["pe_cols"])
    unrolled = {name: int(size) for entries in spatial_mapping.values() for name, size in
                (entry.split(", ") for entry in entries)}
    layer_mapping = {"spatial_mapping": spatial_mapping,
                     "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}
    # ZigZag requires a "default" entry and warns when a layer falls back to it: name both
    mapping = [{"name": "default", **layer_mapping}, {"name": "Conv", **layer_mapping}]
    workload_validator = WorkloadValidator(_workload_data(layer))
    workload_data = workload_validator.normalized_data
    mapping_validator = MappingValidator(mapping)
    mapping_data = mapping_validator.normalized_data
    if not workload_validator.validate() or not mapping_validator.validate():
        raise ValueError("ZigZag rejected the layer or its spatial mapping")
    node = next(iter(WorkloadFactory(workload_data, mapping_data).create().topological_sort()))

    temporal_order = payload["temporal_order"]

    class FixedTemporalMappingStage(Stage):
        """One temporal mapping: the analytical model's loop order, loops split into prime factors."""

        def __init__(self, list_of_callables: list, *, accelerator: Any, layer: Any, spatial_mapping: Any,
                     temporal_mapping_type: Any, **kwargs: Any) -> None:
            super().__init__(list_of_callables, **kwargs)
            self.accelerator, self.layer, self.spatial_mapping = accelerator, layer, spatial_mapping
            self.mapping_type = temporal_mapping_type

        def run(self):  # type: ignore[override]
            engine = LomaEngine(accelerator=self.accelerator, layer=self.layer, spatial_mapping=self.spatial_mapping,
                                mapping_type=self.mapping_type)
            loops: dict[LayerDim, int] = engine.get_temporal_loops()
            ordering = _ordered_factors(loops, temporal_order, unrolled)
            temporal_mapping = MemoryAllocator(self.accelerator, self.layer, self.spatial_mapping, ordering,
                                               self.mapping_type).run()
            kwargs = dict(self.kwargs, accelerator=self.accelerator, layer=self.layer,
                          spatial_mapping=self.spatial_mapping, temporal_mapping=temporal_mapping)
            substage = self.list_of_callables[0](self.list_of_callables[1:], **kwargs)
            yield from substage.run()

    reduce_stage = {"latency": MinimalLatencyStage, "energy": MinimalEnergyStage, "edp": MinimalEDPStage}[
        payload["objective"]]
    temporal_stage = FixedTemporalMappingStage if payload["mapping"] == "fixed" else TemporalMappingGeneratorStage
    main = MainStage(
        [SpatialMappingGeneratorStage, reduce_stage, temporal_stage, CostModelStage],
        accelerator=accelerator,
        layer=node,
        temporal_mapping_type=TemporalMappingType.UNEVEN,
        loma_lpf_limit=payload["lpf_limit"],
        loma_show_progress_bar=False,
        nb_mappings_generated=1,
        access_same_data_considered_as_no_access=True,
    )
    try:
        cme = main.run()[0][0]
    except Exception as exc:
        if type(exc).__name__ in _CAPACITY_ERRORS:
            kind = ("the fixed loop order" if payload["mapping"] == "fixed" else "every loop order LOMA tried")
            raise SimulationError(f"infeasible: ZigZag cannot fit {kind} in the memories (its hierarchy is "
                                  f"inclusive: the GLB must hold what all PE scratchpads hold): {exc}") from None
        raise

    # bytes moved at each memory (ZigZag counts accesses of the port's full width)
    hierarchy = cme.accelerator.memory_hierarchy
    noc_bytes = dram_bytes = onchip_mem_pj = dram_pj = 0.0
    for layer_op, accesses_per_level in cme.memory_word_access.items():
        mem_op = cme.memory_operand_links.layer_to_mem_op(layer_op)
        levels = hierarchy.get_memory_levels(mem_op=mem_op)
        energies = cme.mem_energy_breakdown[layer_op]
        for accesses, level, energy in zip(accesses_per_level, levels, energies):
            name = level.memory_instance.name

            def moved(direction: Any) -> float:
                width = level.get_max_bandwidth(mem_op, direction) or 0
                return accesses.get(direction) * width / 8.0

            if name == "dram":
                dram_bytes += moved(DataDirection.RD_OUT_TO_LOW) + moved(DataDirection.WR_IN_BY_LOW)
                dram_pj += energy
            else:
                onchip_mem_pj += energy
                if name == "glb":
                    noc_bytes += moved(DataDirection.RD_OUT_TO_LOW) + moved(DataDirection.WR_IN_BY_LOW)
    num_pes = design["pe_rows"] * design["pe_cols"]
    noc_pj = noc_bytes * float(noc_pj_per_byte(num_pes))
    cycles = float(cme.latency_total2)
    if not math.isfinite(cycles) or cycles <= 0:
        raise ValueError(f"ZigZag returned a latency of {cycles}")
    return {
        "cycles": cycles,
        "ideal_cycles": float(cme.ideal_cycle),
        "spatial_utilization": float(cme.mac_spatial_utilization),
        "onchip_pj": float(cme.mac_energy) + onchip_mem_pj + noc_pj,
        "mac_pj": float(cme.mac_energy),
        "onchip_mem_pj": onchip_mem_pj,
        "noc_pj": noc_pj,
        "dram_pj": dram_pj,
        "noc_bytes": noc_bytes,
        "dram_bytes": dram_bytes,
    }
