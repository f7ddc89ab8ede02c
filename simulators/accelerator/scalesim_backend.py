"""``ScaleSimAccelerator``: the accelerator template as a systolic array simulated by SCALE-Sim.

SCALE-Sim (``pip install 'archgym[scalesim]'``, package ``scalesim``; Samajdar et al., ISPASS
2020) is a cycle-accurate simulator of a systolic array with three double-buffered SRAMs
(ifmap, filter, ofmap) in front of DRAM. It generates every operand address the array asks
for, cycle by cycle, and replays them through the buffers, so it reports compute and stall
cycles and SRAM/DRAM traffic, but no energy and no area. It is slow: seconds for a small
layer, minutes for a large one (e.g. a 56x56x64->64 3x3 conv on a 16x16 array took 85 s
(WS) to 215 s (OS) on one core), so each distinct layer runs once and is cached.

How the design maps onto SCALE-Sim
----------------------------------
* ``pe_rows x pe_cols`` -> the systolic array; ``dataflow`` -> SCALE-Sim's ``ws`` / ``os`` /
  ``is`` (its dataflows unroll the same dimensions as the template: WS rows <- the filter
  window ``C*FY*FX``, cols <- ``K``; OS rows <- output pixels, cols <- ``K``; IS rows <- the
  window, cols <- output pixels).
* ``glb_kib`` -> the three SRAMs, split 2:2:1 as in SCALE-Sim's default configuration (ifmap
  and filter ``floor(0.4 * glb_kib)`` KiB each, ofmap the rest).
* ``dram_bw`` -> SCALE-Sim models three independent DRAM interfaces (ifmap, filter, ofmap);
  each gets ``max(1, dram_bw // 3)`` bytes (words) per cycle, so together they never exceed
  the design's bandwidth.
* **Not modelled by SCALE-Sim**: ``rf_bytes`` (a systolic PE has fixed registers),
  ``glb_banks`` (bank conflicts are off: SCALE-Sim's custom-layout mode is not used) and
  ``noc_bw`` (operands move between neighbouring PEs). They change only energy and area below.
  ``clock_mhz`` converts cycles to time and scales on-chip energy.

A layer's ``G`` groups run one after another: one group is simulated (``C``, ``K`` per group)
and its cycles and traffic multiplied by ``G`` (then by ``repeat``). The layer is given to
SCALE-Sim with the input extent its outputs read, ``(OY-1)*stride + FY`` by
``(OX-1)*stride + FX`` (:attr:`.layers.Layer.IY` / ``IX``); a GEMM ``M x K . K x N`` is the
1 x M "image" with K channels and N 1x1 filters, which is SCALE-Sim's own GEMM mapping.

Metrics
-------
* ``latency_cycles``: SCALE-Sim's "total cycles (incl. prefetch)" of each layer: from the first
  DRAM prefetch to the last DRAM write-back, stalls included.
* ``dram_bytes``: SCALE-Sim's DRAM reads of the ifmap and filter buffers plus the ofmap
  buffer's writes (1-byte words; SCALE-Sim counts whole prefetch lines).
* ``energy_pj`` is **derived, not simulated**: SCALE-Sim's access counts times the analytical
  model's per-byte energies (:mod:`.energy`): MACs x ``MAC_PJ``; per MAC the same 10 B of PE
  register accesses as the analytical model at ``sram_pj_per_byte(rf_bytes)``; every byte
  the array reads from or writes to an SRAM once through the NoC (``noc_pj_per_byte``) and once
  in that SRAM, every DRAM byte once in its SRAM, each SRAM at ``sram_pj_per_byte`` of its
  size divided by ``glb_banks``; DRAM bytes at ``DRAM_PJ_PER_BYTE``; on-chip terms scaled by
  :func:`.energy.voltage_scale`.
* ``area_mm2`` is the shared area model :func:`.energy.area_breakdown_mm2` (SCALE-Sim has none).

SCALE-Sim maps every design, so there are no infeasible designs; a failure inside SCALE-Sim
or a layer over ``timeout_s`` raises :class:`~archgym.simulator.SimulationError`.
``scalesim`` 3.0.0 needs ``numpy<2.4`` (it converts one-element arrays with ``int()``, which
numpy 2.4 rejects); the ``archgym[scalesim]`` extra pins it.

Each layer runs in a child process with a private temporary working directory (see
:mod:`._worker`); nothing is written there since traces and reports are not requested.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
from typing import Any, Mapping

from archgym.simulator import Metrics

from .analytical import RF_BYTES_PER_MAC
from .layer_jobs import LayerJobSimulator
from .energy import (DRAM_PJ_PER_BYTE, MAC_PJ, noc_pj_per_byte, sram_pj_per_byte,
                     voltage_scale)
from .hardware import AcceleratorDesign
from .layers import Layer, Workload, load_workload

__all__ = ["ScaleSimAccelerator", "scalesim_available", "SCALESIM_INSTALL_HINT", "SCALESIM_DATAFLOWS",
           "sram_split_kib"]

SCALESIM_INSTALL_HINT = "pip install 'archgym[scalesim]'"
#: the template's dataflow names -> SCALE-Sim's
SCALESIM_DATAFLOWS: dict[str, str] = {"weight_stationary": "ws", "output_stationary": "os",
                                      "input_stationary": "is"}
_JOB = f"{__name__}:_run_layer"


def _numpy_too_new() -> str | None:
    """The installed numpy version if scalesim 3.0.0 cannot run with it (>= 2.4), else ``None``."""
    try:
        version = importlib.metadata.version("numpy")
    except importlib.metadata.PackageNotFoundError:
        return None
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return version if tuple(parts) >= (2, 4) else None


def scalesim_available() -> bool:
    """Whether SCALE-Sim is installed and can run with the installed numpy."""
    return importlib.util.find_spec("scalesim") is not None and _numpy_too_new() is None


def _require_scalesim() -> None:
    if importlib.util.find_spec("scalesim") is None:
        raise ImportError(f"the SCALE-Sim accelerator back-end needs the package scalesim: {SCALESIM_INSTALL_HINT}")
    too_new = _numpy_too_new()
    if too_new is not None:
        raise ImportError(f"scalesim 3.0.0 does not run with numpy {too_new} (it needs numpy<2.4): "
                          f"{SCALESIM_INSTALL_HINT} installs a compatible numpy")


def sram_split_kib(glb_kib: int) -> tuple[int, int, int]:
    """The GLB as SCALE-Sim's (ifmap, filter, ofmap) SRAMs in KiB: 2:2:1, each at least 1 KiB."""
    ifmap = max(1, (2 * glb_kib) // 5)
    ofmap = max(1, glb_kib - 2 * ifmap)
    return ifmap, ifmap, ofmap


class ScaleSimAccelerator(LayerJobSimulator):
    """The accelerator template simulated by SCALE-Sim, one layer shape at a time (see the module doc).

    ``timeout_s`` bounds each layer (``None``: no limit); ``processes`` simulates that many
    layers at once in child processes; ``isolate=False`` runs SCALE-Sim in this process
    instead (no time limit, no parallelism; its prints are swallowed with
    ``contextlib.redirect_stdout``, which is not thread-safe). ``cache_size`` layer results
    are kept.
    """

    name = "accelerator-scalesim"
    version = "1.0"
    job = _JOB
    preload = ("scalesim.single_layer_sim", __name__)

    def __init__(self, *, timeout_s: float | None = 3600.0, processes: int = 1, isolate: bool = True,
                 cache_size: int = 65536) -> None:
        _require_scalesim()
        super().__init__(timeout_s=timeout_s, processes=processes, isolate=isolate, cache_size=cache_size)

    # -- evaluation ----------------------------------------------------------------------
    def simulate(self, design: AcceleratorDesign, workload: Workload) -> Metrics:
        latency = energy = dram = 0.0
        for layer, counts in zip(workload.layers, self.layer_results(design, workload)):
            per_instance = layer_energy_pj(design, layer, counts)
            latency += counts["overall_cycles"] * layer.G * layer.repeat
            energy += per_instance * layer.repeat
            dram += counts["dram_bytes"] * layer.G * layer.repeat
        return self.network_metrics(design, workload, latency_cycles=latency, energy_pj=energy, dram_bytes=dram)

    def layer_report(self, design: Mapping[str, Any], workload: str | os.PathLike[str] | Workload
                     ) -> list[dict[str, Any]]:
        """Per-layer SCALE-Sim figures for one group of each layer, plus the derived energy of all groups."""
        design = AcceleratorDesign.from_mapping(design)
        workload = load_workload(workload)
        return [{"name": layer.name, "repeat": layer.repeat, "groups": layer.G, "macs": float(layer.macs), **counts,
                 "energy_pj": layer_energy_pj(design, layer, counts)}
                for layer, counts in zip(workload.layers, self.layer_results(design, workload))]

    def hardware_key(self, design: AcceleratorDesign) -> tuple:
        return (design.pe_rows, design.pe_cols, SCALESIM_DATAFLOWS[design.dataflow], design.glb_kib, design.dram_bw)

    def layer_key(self, layer: Layer) -> tuple:
        return (layer.K, layer.C, layer.OY, layer.OX, layer.FY, layer.FX, layer.stride)

    def payload(self, design: AcceleratorDesign, layer: Layer) -> dict[str, Any]:
        return _payload(design, layer)

    def job_name(self, layer: Layer) -> str:
        return _job_name(layer)


def layer_energy_pj(design: AcceleratorDesign, layer: Layer, counts: dict[str, float]) -> float:
    """Energy of one instance of ``layer`` (all groups) from SCALE-Sim's counts for one group."""
    ifmap_kib, filter_kib, ofmap_kib = sram_split_kib(design.glb_kib)

    def sram_pj(kib: int) -> float:
        return float(sram_pj_per_byte(kib * 1024 / design.glb_banks))

    array_side = counts["ifmap_sram_reads"] + counts["filter_sram_reads"] + counts["ofmap_sram_writes"]
    sram = ((counts["ifmap_sram_reads"] + counts["ifmap_dram_reads"]) * sram_pj(ifmap_kib)
            + (counts["filter_sram_reads"] + counts["filter_dram_reads"]) * sram_pj(filter_kib)
            + (counts["ofmap_sram_writes"] + counts["ofmap_dram_writes"]) * sram_pj(ofmap_kib))
    macs_per_group = layer.macs / layer.G
    onchip = (macs_per_group * (MAC_PJ + RF_BYTES_PER_MAC * float(sram_pj_per_byte(design.rf_bytes)))
              + array_side * float(noc_pj_per_byte(design.num_pes)) + sram)
    per_group = onchip * float(voltage_scale(design.clock_mhz)) + counts["dram_bytes"] * DRAM_PJ_PER_BYTE
    return per_group * layer.G


def _job_name(layer: Layer) -> str:
    """How errors name a layer's job."""
    return (f"SCALE-Sim on layer {layer.name!r} (one group: IY={layer.IY} IX={layer.IX} FY={layer.FY} FX={layer.FX} "
            f"C={layer.C} K={layer.K} stride={layer.stride})")


def _payload(design: AcceleratorDesign, layer: Layer) -> dict[str, Any]:
    ifmap_kib, filter_kib, ofmap_kib = sram_split_kib(design.glb_kib)
    return {
        "rows": design.pe_rows, "cols": design.pe_cols, "dataflow": SCALESIM_DATAFLOWS[design.dataflow],
        "ifmap_kib": ifmap_kib, "filter_kib": filter_kib, "ofmap_kib": ofmap_kib,
        "bandwidth": max(1, design.dram_bw // 3),
        "layer": {"IY": layer.IY, "IX": layer.IX, "FY": layer.FY, "FX": layer.FX, "C": layer.C, "K": layer.K,
                  "stride": layer.stride},
    }


# -- what runs in the worker ---------------------------------------------------------------
def _run_layer(payload: dict[str, Any]) -> dict[str, float]:
    """Simulate one group of one layer with SCALE-Sim, configured in code (no files)."""
    import contextlib
    import io
    import warnings

    from scalesim.layout_utils import layouts
    from scalesim.scale_config import scale_config
    from scalesim.single_layer_sim import single_layer_sim
    from scalesim.topology_utils import topologies

    too_new = _numpy_too_new()
    if too_new is not None:
        raise RuntimeError(f"scalesim 3.0.0 does not run with numpy {too_new} (needs numpy<2.4)")

    config = scale_config()
    config.run_name = "archgym"
    config.array_rows, config.array_cols = payload["rows"], payload["cols"]
    config.ifmap_sz_kb, config.filter_sz_kb, config.ofmap_sz_kb = (
        payload["ifmap_kib"], payload["filter_kib"], payload["ofmap_kib"])
    config.df = payload["dataflow"]
    bandwidth = payload["bandwidth"]
    # user-given DRAM bandwidth: SCALE-Sim takes the ofmap interface's from `bandwidths` and the
    # ifmap/filter interfaces' from their SRAM "bank bandwidth" (one bank, so no bank conflicts)
    config.use_user_bandwidth = True
    config.bandwidths = [bandwidth]
    config.ifmap_sram_bank_bandwidth = config.filter_sram_bank_bandwidth = bandwidth
    config.ifmap_sram_bank_num = config.filter_sram_bank_num = 1
    config.ifmap_sram_bank_port = config.filter_sram_bank_port = 2
    config.using_ifmap_custom_layout = config.using_filter_custom_layout = False
    config.sparsity_support = False
    config.use_ramulator_trace = False
    config.valid_conf_flag = True

    layer = payload["layer"]
    topology = topologies()
    # entries: name, ifmap h, ifmap w, filter h, filter w, channels, filters, stride h, stride w, N:M sparsity
    topology.load_layer_params_from_list("layer", ["layer", layer["IY"], layer["IX"], layer["FY"], layer["FX"],
                                                   layer["C"], layer["K"], layer["stride"], layer["stride"], 1, 1])
    topology.topo_calc_hyperparams()

    sim = single_layer_sim()
    # SCALE-Sim prints progress and its int(array) conversions warn under numpy 2.x; keep both quiet
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sim.set_params(layer_id=0, config_obj=config, topology_obj=topology, layout_obj=layouts(), verbose=False)
        sim.run()
        overall, total, stall, _util, mapping_eff, compute_util = sim.get_compute_report_items()
        detail = sim.get_detail_report_items()
    ifmap_sram, filter_sram, ofmap_sram = float(detail[2]), float(detail[5]), float(detail[8])
    ifmap_dram, filter_dram, ofmap_dram = float(detail[11]), float(detail[14]), float(detail[17])
    return {
        "overall_cycles": float(overall),  # first DRAM prefetch to last write-back
        "total_cycles": float(total),  # array busy or stalled
        "stall_cycles": float(stall),
        "compute_cycles": float(total) - float(stall),
        "mapping_efficiency": float(mapping_eff) / 100.0,
        "compute_utilization": float(compute_util) / 100.0,
        "ifmap_sram_reads": ifmap_sram,
        "filter_sram_reads": filter_sram,
        "ofmap_sram_writes": ofmap_sram,
        "ifmap_dram_reads": ifmap_dram,
        "filter_dram_reads": filter_dram,
        "ofmap_dram_writes": ofmap_dram,
        "dram_bytes": ifmap_dram + filter_dram + ofmap_dram,
    }
