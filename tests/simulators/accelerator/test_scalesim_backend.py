"""ScaleSimAccelerator: the accelerator template simulated by SCALE-Sim (skipped without scalesim)."""

from __future__ import annotations

import importlib.util
import math
import pickle

import pytest

from archgym.simulator import SimulationError, Simulator
from archgym.simulators.accelerator import (ACCELERATOR_METRICS, BASELINE_DESIGN, AnalyticalAccelerator, Layer,
                                            Workload, make_accelerator_simulator)
from archgym.simulators.accelerator import layer_jobs, scalesim_backend
from archgym.simulators.accelerator.backends import BackendUnavailableError
from archgym.simulators.accelerator.scalesim_backend import (SCALESIM_DATAFLOWS, ScaleSimAccelerator,
                                                             scalesim_available, sram_split_kib)


def _skip_reason() -> str:
    if importlib.util.find_spec("scalesim") is None:
        return "scalesim not installed: pip install 'archgym[scalesim]'"
    return "scalesim 3.0.0 needs numpy<2.4: pip install 'archgym[scalesim]'"


requires_scalesim = pytest.mark.skipif(not scalesim_available(), reason=_skip_reason())

#: a 4x4 array and layers small enough that SCALE-Sim takes well under a second each
SMALL = dict(BASELINE_DESIGN, pe_rows=4, pe_cols=4, glb_kib=32, dram_bw=12)
CONV = Layer.conv("conv", 6, 6, 3, 3, 4, 8)
GEMM = Layer.gemm("gemm", 8, 8, 16)
DEPTHWISE = Layer.conv("dw", 6, 6, 3, 3, 4, 4, stride=2, groups=4)
TINY = Workload.from_layers("tiny", [CONV, GEMM, DEPTHWISE])


@pytest.fixture(scope="module")
def ss() -> ScaleSimAccelerator:
    return ScaleSimAccelerator(isolate=False)


def counting(monkeypatch) -> list:
    calls: list = []
    real = layer_jobs.run_job
    monkeypatch.setattr(layer_jobs, "run_job", lambda *a: calls.append(a) or real(*a))
    return calls


# -- without scalesim ----------------------------------------------------------------------
def test_missing_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "scalesim" else real(name, *a))
    assert not scalesim_available()
    with pytest.raises(ImportError, match=r"archgym\[scalesim\]"):
        ScaleSimAccelerator()
    with pytest.raises(BackendUnavailableError, match=r"archgym\[scalesim\]"):
        make_accelerator_simulator("scalesim")


def test_numpy_too_new_is_explained(monkeypatch):
    if importlib.util.find_spec("scalesim") is None:
        pytest.skip("scalesim not installed")
    monkeypatch.setattr(scalesim_backend, "_numpy_too_new", lambda: "2.4.0")
    assert not scalesim_available()
    with pytest.raises(ImportError, match=r"numpy 2\.4\.0.*numpy<2\.4.*archgym\[scalesim\]"):
        ScaleSimAccelerator()


def test_sram_split():
    assert sram_split_kib(512) == (204, 204, 104)
    assert sram_split_kib(32) == (12, 12, 8)
    for kib in (5, 32, 100, 4096):
        assert sum(sram_split_kib(kib)) == kib
    assert min(sram_split_kib(1)) >= 1


def test_dataflow_names():
    assert SCALESIM_DATAFLOWS == {"weight_stationary": "ws", "output_stationary": "os", "input_stationary": "is"}


def test_payload_configures_everything_in_code():
    payload = scalesim_backend._payload(scalesim_backend.AcceleratorDesign.from_mapping(
        dict(BASELINE_DESIGN, dataflow="os", dram_bw=16)), Layer.conv("c", 8, 8, 3, 3, 4, 8, stride=2))
    assert payload["dataflow"] == "os" and payload["rows"] == payload["cols"] == 16
    assert payload["bandwidth"] == 5  # three interfaces share dram_bw
    assert (payload["ifmap_kib"], payload["filter_kib"], payload["ofmap_kib"]) == sram_split_kib(512)
    assert payload["layer"] == {"IY": 9, "IX": 9, "FY": 3, "FX": 3, "C": 4, "K": 8, "stride": 2}


# -- with scalesim -------------------------------------------------------------------------
@requires_scalesim
def test_contract_and_metrics(ss):
    assert isinstance(ss, Simulator)
    assert ss.metric_names == tuple(m.name for m in ACCELERATOR_METRICS)
    m = ss.evaluate(SMALL, TINY)
    assert set(m) == set(ss.metric_names)
    assert all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in m.values())
    assert 0 < m["utilization"] <= 1
    assert m["latency_cycles"] >= TINY.total_macs / 16
    assert m["area_mm2"] == pytest.approx(AnalyticalAccelerator().evaluate(SMALL, TINY)["area_mm2"])


@requires_scalesim
@pytest.mark.parametrize("dataflow", ["weight_stationary", "output_stationary", "input_stationary"])
@pytest.mark.parametrize("layer", [CONV, GEMM, DEPTHWISE], ids=lambda layer: layer.name)
def test_each_dataflow_and_layer_kind(ss, dataflow, layer):
    design = dict(SMALL, dataflow=dataflow)
    (report,) = ss.layer_report(design, Workload.from_layers("one", [layer]))
    per_group_macs = layer.macs / layer.G
    assert report["overall_cycles"] >= report["total_cycles"] >= report["compute_cycles"] >= per_group_macs / 16
    assert 0 < report["mapping_efficiency"] <= 1
    # every weight and input is fetched from DRAM at least once, every output written back
    assert report["filter_dram_reads"] >= layer.weight_elements / layer.G
    assert report["ifmap_dram_reads"] >= layer.input_elements / layer.G
    assert report["ofmap_dram_writes"] >= layer.output_elements / layer.G
    assert report["dram_bytes"] == pytest.approx(report["ifmap_dram_reads"] + report["filter_dram_reads"]
                                                 + report["ofmap_dram_writes"])
    assert report["energy_pj"] > report["dram_bytes"] * scalesim_backend.DRAM_PJ_PER_BYTE * layer.G * 0.999


@requires_scalesim
def test_groups_run_one_after_another(ss):
    one = ss.evaluate(SMALL, Workload.from_layers("g1", [Layer.conv("dw", 6, 6, 3, 3, 1, 1, groups=1)]))
    four = ss.evaluate(SMALL, Workload.from_layers("g4", [Layer.conv("dw", 6, 6, 3, 3, 4, 4, groups=4)]))
    for name in ("latency_cycles", "energy_pj", "dram_bytes"):
        assert four[name] == pytest.approx(4 * one[name])


@requires_scalesim
def test_repeat_multiplies_and_duplicate_shapes_run_once(monkeypatch):
    ss = ScaleSimAccelerator(isolate=False)
    calls = counting(monkeypatch)
    once = ss.evaluate(SMALL, Workload.from_layers("once", [CONV]))
    thrice = ss.evaluate(SMALL, Workload.from_layers("thrice", [Layer.conv("a", 6, 6, 3, 3, 4, 8, repeat=2),
                                                                Layer.conv("b", 6, 6, 3, 3, 4, 8)]))
    assert len(calls) == 1
    for name in ("latency_cycles", "energy_pj", "dram_bytes"):
        assert thrice[name] == pytest.approx(3 * once[name])


@requires_scalesim
def test_parameters_scalesim_ignores_change_only_energy_and_area(monkeypatch):
    ss = ScaleSimAccelerator(isolate=False)
    calls = counting(monkeypatch)
    base = ss.evaluate(SMALL, TINY)
    assert len(calls) == 3
    for change in ({"rf_bytes": 1024}, {"glb_banks": 32}, {"noc_bw": 1024}, {"clock_mhz": 200}):
        other = ss.evaluate(dict(SMALL, **change), TINY)
        assert other["latency_cycles"] == base["latency_cycles"] and other["dram_bytes"] == base["dram_bytes"]
        assert other["energy_pj"] != base["energy_pj"] or other["area_mm2"] != base["area_mm2"]
    assert len(calls) == 3  # none of them needed a new simulation


@requires_scalesim
def test_bigger_array_is_faster_on_a_large_enough_layer(ss):
    workload = Workload.from_layers("one", [Layer.conv("c", 8, 8, 3, 3, 16, 16)])
    small = ss.evaluate(dict(SMALL, pe_rows=4, pe_cols=4), workload)
    large = ss.evaluate(dict(SMALL, pe_rows=16, pe_cols=16), workload)
    assert large["latency_cycles"] < small["latency_cycles"]


@requires_scalesim
def test_failure_becomes_simulation_error(monkeypatch):
    ss = ScaleSimAccelerator(isolate=False)

    def boom(*args):
        raise RuntimeError("scalesim exploded")

    monkeypatch.setattr(layer_jobs, "run_job", boom)
    with pytest.raises(SimulationError, match=r"SCALE-Sim on layer 'conv'.*scalesim exploded"):
        ss.evaluate(SMALL, Workload.from_layers("one", [CONV]))


@requires_scalesim
def test_prints_nothing(ss, capfd):
    ss.evaluate(dict(SMALL, pe_rows=8), Workload.from_layers("one", [CONV]))
    out, _ = capfd.readouterr()
    assert out == ""


@requires_scalesim
def test_isolated_run_matches_in_process_and_leaves_no_files(ss, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    isolated = ScaleSimAccelerator(processes=2)
    try:
        assert isolated.evaluate(SMALL, TINY) == ss.evaluate(SMALL, TINY)
    finally:
        isolated.close()
    assert list(tmp_path.iterdir()) == []


@requires_scalesim
def test_timeout_raises_simulation_error():
    ss = ScaleSimAccelerator(timeout_s=0.2)
    try:
        with pytest.raises(SimulationError, match="timed out after 0.2 s"):
            ss.evaluate(BASELINE_DESIGN, Workload.from_layers("big", [Layer.conv("c", 56, 56, 3, 3, 64, 64)]))
    finally:
        ss.close()


@requires_scalesim
def test_pickling_and_registry():
    clone = pickle.loads(pickle.dumps(ScaleSimAccelerator(isolate=False)))
    assert clone.evaluate(SMALL, Workload.from_layers("one", [GEMM]))["latency_cycles"] > 0
    assert isinstance(make_accelerator_simulator("scalesim", isolate=False), ScaleSimAccelerator)
    assert ScaleSimAccelerator(timeout_s=5).fingerprint() == ScaleSimAccelerator().fingerprint()


@requires_scalesim
@pytest.mark.slow
def test_medium_layers_in_parallel_against_the_analytical_model():
    """A ResNet-like 3x3 conv and a BERT-like GEMM on the baseline: same order of magnitude."""
    workload = Workload.from_layers("medium", [Layer.conv("c", 14, 14, 3, 3, 64, 64), Layer.gemm("g", 64, 128, 256)])
    ss = ScaleSimAccelerator(processes=2)
    try:
        s = ss.evaluate(BASELINE_DESIGN, workload)
    finally:
        ss.close()
    a = AnalyticalAccelerator().evaluate(BASELINE_DESIGN, workload)
    assert 0.5 < s["latency_cycles"] / a["latency_cycles"] < 20
    assert s["dram_bytes"] >= 0.5 * a["dram_bytes"]
