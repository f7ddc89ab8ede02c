"""ZigZagAccelerator: the accelerator template run through ZigZag (skipped without zigzag-dse)."""

from __future__ import annotations

import importlib.util
import math
import pickle

import pytest

from archgym.simulator import SimulationError, Simulator
from archgym.simulators.accelerator import (ACCELERATOR_METRICS, BASELINE_DESIGN, AnalyticalAccelerator, Layer,
                                            Workload, make_accelerator_simulator)
from archgym.simulators.accelerator import layer_jobs, zigzag_backend
from archgym.simulators.accelerator.backends import BackendUnavailableError
from archgym.simulators.accelerator.zigzag_backend import ZigZagAccelerator, zigzag_available

requires_zigzag = pytest.mark.skipif(
    not zigzag_available(),
    reason="zigzag-dse (and six) not installed: pip install 'archgym[zigzag]'",
)

SMALL = dict(BASELINE_DESIGN, pe_rows=8, pe_cols=8, glb_kib=64)
CONV = Layer.conv("conv", 14, 14, 3, 3, 16, 32)
GEMM = Layer.gemm("gemm", 16, 32, 64)
DEPTHWISE = Layer.conv("dw", 14, 14, 3, 3, 16, 16, stride=2, groups=16)
TINY = Workload.from_layers("tiny", [CONV, GEMM, DEPTHWISE])


def compulsory_bytes(layer: Layer) -> int:
    """Every weight and input read once, every output written once (8-bit)."""
    return layer.weight_elements + layer.input_elements + layer.output_elements


@pytest.fixture(scope="module")
def zz() -> ZigZagAccelerator:
    return ZigZagAccelerator(isolate=False)


# -- without zigzag ------------------------------------------------------------------------
def test_missing_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "zigzag" else real(name, *a))
    with pytest.raises(ImportError, match=r"archgym\[zigzag\]"):
        ZigZagAccelerator()
    with pytest.raises(BackendUnavailableError, match=r"archgym\[zigzag\]"):
        make_accelerator_simulator("zigzag")


def test_missing_six_is_named(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "six" else real(name, *a))
    with pytest.raises(ImportError, match=r"six.*archgym\[zigzag\]"):
        ZigZagAccelerator()


def test_accelerator_description_is_plain_data():
    data = zigzag_backend._accelerator_data(dict(BASELINE_DESIGN))
    names = list(data["memories"])
    assert names == ["rf_weights", "reg_input", "reg_psum", "glb", "dram"]  # innermost first: order matters
    # explicit costs everywhere, so ZigZag never calls CACTI (which changes directory and writes files)
    assert all(m["auto_cost_extraction"] is False and m["r_cost"] > 0 and m["w_cost"] > 0 and m["area"] is not None
               for m in data["memories"].values())
    assert data["operational_array"]["sizes"] == [16, 16]
    glb = data["memories"]["glb"]
    assert glb["size"] == BASELINE_DESIGN["glb_kib"] * 1024 * 8
    assert glb["ports"][0]["bandwidth_max"] == 8 * min(BASELINE_DESIGN["noc_bw"], 16 * BASELINE_DESIGN["glb_banks"])
    assert data["memories"]["dram"]["ports"][0]["bandwidth_max"] == 8 * BASELINE_DESIGN["dram_bw"]


@pytest.mark.parametrize("dataflow, stationary", [("weight_stationary", "I2"), ("output_stationary", "O"),
                                                  ("input_stationary", "I1")])
def test_stationary_operand_owns_the_rf(dataflow, stationary):
    design = dict(BASELINE_DESIGN, dataflow=dataflow, rf_bytes=64)
    first = next(iter(zigzag_backend._accelerator_data(design)["memories"].values()))
    assert first["operands"] == [stationary] and first["served_dimensions"] == []
    assert first["size"] == 8 * (64 - zigzag_backend._REGISTER_BYTES[dataflow])


def test_spatial_mapping_follows_the_dataflow():
    layer = {"K": 64, "C": 3, "OY": 56, "OX": 7}
    assert zigzag_backend._spatial_mapping("weight_stationary", layer, 16, 16) == {"D1": ["C, 3"], "D2": ["K, 16"]}
    assert zigzag_backend._spatial_mapping("output_stationary", layer, 16, 16) == {"D1": ["OX, 7", "OY, 2"],
                                                                                  "D2": ["K, 16"]}
    assert zigzag_backend._spatial_mapping("input_stationary", layer, 16, 32) == {"D1": ["C, 3"],
                                                                                 "D2": ["OX, 7", "OY, 4"]}


def test_prime_factors():
    assert zigzag_backend._prime_factors(1) == []
    assert zigzag_backend._prime_factors(56) == [2, 2, 2, 7]
    assert zigzag_backend._prime_factors(97) == [97]



def test_ordered_factors_follow_the_order_and_its_limits():
    class Dim:  # stands in for zigzag.datatypes.LayerDim, which the order only reads .name of
        def __init__(self, name):
            self.name = name

        def __repr__(self):
            return self.name

    K, C, OX, OY, B = (Dim(n) for n in ("K", "C", "OX", "OY", "B"))
    loops = {K: 4, C: 12, OX: 7, OY: 2, B: 1}
    order = [(("C",), 6 * 16), (("OX", "OY"), None), (("C",), None), (("K",), 16)]
    got = [(d.name, f) for d, f in zigzag_backend._ordered_factors(loops, order, {"C": 16, "K": 16})]
    # C = 2*2*3 temporal on 16 unrolled: the RF part covers 16*2*2 = 64 <= 96 channels (16*12 > 96),
    # the rest of C after the pixels; K's part covers no more than the 16 unrolled, so none of it
    assert got == [("C", 2), ("C", 2), ("OX", 7), ("OY", 2), ("C", 3), ("K", 2), ("K", 2)]
    # an extent counts what the dimension already covers further in: 4 unrolled x 2^4 = 64, then x2 = 128
    got = [(d.name, f) for d, f in zigzag_backend._ordered_factors({K: 64, OX: 3}, [(("K",), 64), (("OX",), None),
                                                                                    (("K",), 128)], {"K": 4})]
    assert got == [("K", 2)] * 4 + [("OX", 3), ("K", 2), ("K", 2)]  # the last factor is left over: outermost
    # OX unrolled in full (28 of 28: no temporal OX loop) still counts: 28 x 2 = 56 <= 96 < 28 x 4
    FX = Dim("FX")
    order = [(("OX", "OY"), 96), (("FX",), None)]
    got = [(d.name, f) for d, f in zigzag_backend._ordered_factors({OY: 28, FX: 3}, order, {"OX": 28})]
    assert got == [("OY", 2), ("FX", 3), ("OY", 2), ("OY", 7)]
    # loops the order leaves out go outermost
    assert [(d.name, f) for d, f in zigzag_backend._ordered_factors({K: 6, C: 2}, [(("C",), None)], {})] == [
        ("C", 2), ("K", 2), ("K", 3)]


def test_invalid_options_rejected():
    if not zigzag_available():
        pytest.skip("zigzag-dse not installed")
    for kwargs in ({"mapping": "random"}, {"objective": "area"}, {"lpf_limit": 0}, {"timeout_s": 0},
                   {"processes": 0}):
        with pytest.raises(ValueError):
            ZigZagAccelerator(**kwargs)


# -- with zigzag ---------------------------------------------------------------------------
@requires_zigzag
def test_contract_and_metrics(zz):
    assert isinstance(zz, Simulator)
    assert zz.metric_names == tuple(m.name for m in ACCELERATOR_METRICS)
    m = zz.evaluate(SMALL, TINY)
    assert set(m) == set(zz.metric_names)
    assert all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in m.values())
    assert 0 < m["utilization"] <= 1
    assert m["latency_cycles"] >= TINY.total_macs / 64
    assert m["latency_ms"] == pytest.approx(m["latency_cycles"] / (SMALL["clock_mhz"] * 1e3))
    assert m["edp"] == pytest.approx(m["energy_uj"] * m["latency_ms"])
    # the area is the shared template model, identical to the analytical back-end's
    assert m["area_mm2"] == pytest.approx(AnalyticalAccelerator().evaluate(SMALL, TINY)["area_mm2"])


@requires_zigzag
@pytest.mark.parametrize("dataflow", ["weight_stationary", "output_stationary", "input_stationary"])
@pytest.mark.parametrize("layer", [CONV, GEMM, DEPTHWISE], ids=lambda layer: layer.name)
def test_each_dataflow_and_layer_kind(zz, dataflow, layer):
    design = dict(SMALL, dataflow=dataflow)
    (report,) = zz.layer_report(design, Workload.from_layers("one", [layer]))
    assert report["cycles"] >= report["ideal_cycles"] >= layer.macs / 64
    assert 0 < report["spatial_utilization"] <= 1
    assert report["dram_bytes"] >= compulsory_bytes(layer)  # nothing reaches the PEs without a DRAM read
    assert report["mac_pj"] == pytest.approx(layer.macs * zigzag_backend.MAC_PJ)
    assert report["energy_pj"] > report["dram_pj"] > 0


@requires_zigzag
def test_repeat_multiplies_and_duplicate_shapes_run_once(monkeypatch):
    zz = ZigZagAccelerator(isolate=False)
    calls = []
    real = layer_jobs.run_job
    monkeypatch.setattr(layer_jobs, "run_job", lambda *a: calls.append(a) or real(*a))
    once = zz.evaluate(SMALL, Workload.from_layers("once", [CONV]))
    assert len(calls) == 1
    thrice = zz.evaluate(SMALL, Workload.from_layers("thrice", [Layer.conv("a", 14, 14, 3, 3, 16, 32, repeat=2),
                                                                Layer.conv("b", 14, 14, 3, 3, 16, 32)]))
    assert len(calls) == 1  # the same shape: served from the cache
    for name in ("latency_cycles", "energy_pj", "dram_bytes"):
        assert thrice[name] == pytest.approx(3 * once[name])


@requires_zigzag
def test_clock_scales_time_and_onchip_energy_without_rerunning(monkeypatch):
    zz = ZigZagAccelerator(isolate=False)
    calls = []
    real = layer_jobs.run_job
    monkeypatch.setattr(layer_jobs, "run_job", lambda *a: calls.append(a) or real(*a))
    fast = zz.evaluate(dict(SMALL, clock_mhz=1000), TINY)
    slow = zz.evaluate(dict(SMALL, clock_mhz=200), TINY)
    assert len(calls) == 3  # three layer shapes, once
    assert slow["latency_cycles"] == fast["latency_cycles"]
    assert slow["latency_ms"] == pytest.approx(5 * fast["latency_ms"])
    assert slow["energy_pj"] < fast["energy_pj"]  # lower voltage at the lower clock
    assert slow["dram_bytes"] == fast["dram_bytes"]


@requires_zigzag
def test_more_pes_are_faster_on_a_large_layer(zz):
    layer = Workload.from_layers("big", [Layer.conv("c", 28, 28, 3, 3, 64, 64)])
    small = zz.evaluate(dict(BASELINE_DESIGN, pe_rows=8, pe_cols=8), layer)
    large = zz.evaluate(dict(BASELINE_DESIGN, pe_rows=32, pe_cols=32), layer)
    assert large["latency_cycles"] < small["latency_cycles"]


@requires_zigzag
def test_less_dram_bandwidth_is_not_faster(zz):
    wide = zz.evaluate(dict(SMALL, dram_bw=64), TINY)
    narrow = zz.evaluate(dict(SMALL, dram_bw=4), TINY)
    assert narrow["latency_cycles"] >= wide["latency_cycles"]


@requires_zigzag
@pytest.mark.parametrize("isolate", [False, True])
def test_scratchpads_larger_than_the_glb_are_infeasible(isolate, monkeypatch):
    """ZigZag's hierarchy is inclusive: 64x64 PEs x 1 KiB of scratchpad cannot sit under a 32 KiB GLB."""
    zz = ZigZagAccelerator(isolate=isolate)
    design = dict(BASELINE_DESIGN, pe_rows=64, pe_cols=64, rf_bytes=1024, glb_kib=32)
    try:
        with pytest.raises(SimulationError, match=r"^ZigZag on layer 'c' \(K=64 .*\): infeasible: ZigZag cannot fit"):
            zz.evaluate(design, Workload.from_layers("one", [Layer.conv("c", 28, 28, 3, 3, 64, 64)]))
        zz.close()
        zz.isolate = False
        monkeypatch.setattr(layer_jobs, "run_job", lambda *a: pytest.fail("ZigZag ran again"))
        # the verdict is cached (ZigZag does not run again) and names the layer it is asked about now
        with pytest.raises(SimulationError, match=r"^ZigZag on layer 'other' .*: infeasible:"):
            zz.evaluate(design, Workload.from_layers("two", [Layer.conv("other", 28, 28, 3, 3, 64, 64)]))
    finally:
        zz.close()


@requires_zigzag
def test_failure_becomes_simulation_error(monkeypatch):
    zz = ZigZagAccelerator(isolate=False)

    def boom(*args):
        raise RuntimeError("zigzag exploded")

    monkeypatch.setattr(layer_jobs, "run_job", boom)
    with pytest.raises(SimulationError, match=r"ZigZag on layer 'conv'.*zigzag exploded"):
        zz.evaluate(SMALL, Workload.from_layers("one", [CONV]))


@requires_zigzag
def test_isolated_run_matches_in_process_and_leaves_no_files(zz, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    isolated = ZigZagAccelerator(processes=2)
    try:
        assert isolated.evaluate(SMALL, TINY) == zz.evaluate(SMALL, TINY)
    finally:
        isolated.close()
    assert list(tmp_path.iterdir()) == []


@requires_zigzag
def test_fingerprint_options_and_pickling():
    fixed, loma = ZigZagAccelerator(), ZigZagAccelerator("loma")
    assert fixed.fingerprint() != loma.fingerprint()
    assert ZigZagAccelerator("loma", objective="latency").fingerprint() != loma.fingerprint()
    assert ZigZagAccelerator(timeout_s=5, processes=3).fingerprint() == fixed.fingerprint()  # no effect on results
    clone = pickle.loads(pickle.dumps(ZigZagAccelerator(isolate=False)))
    assert clone.evaluate(SMALL, Workload.from_layers("one", [GEMM]))["latency_cycles"] > 0


@requires_zigzag
def test_registry_builds_it():
    sim = make_accelerator_simulator("zigzag", mapping="fixed", isolate=False)
    assert isinstance(sim, ZigZagAccelerator)


@requires_zigzag
def test_timeout_raises_simulation_error():
    zz = ZigZagAccelerator("loma", timeout_s=0.2)
    try:
        with pytest.raises(SimulationError, match="timed out after 0.2 s"):
            zz.evaluate(BASELINE_DESIGN, Workload.from_layers("big", [Layer.conv("c", 56, 56, 3, 3, 64, 64)]))
        zz.timeout_s = 120.0
        assert zz.evaluate(SMALL, Workload.from_layers("one", [GEMM]))["latency_cycles"] > 0  # usable afterwards
    finally:
        zz.close()


@requires_zigzag
@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["weight_stationary", "output_stationary", "input_stationary"])
def test_loma_search_is_not_worse_than_the_fixed_order(dataflow):
    workload = Workload.from_layers("one", [Layer.conv("c", 28, 28, 3, 3, 32, 64)])
    design = dict(BASELINE_DESIGN, dataflow=dataflow)
    fixed = ZigZagAccelerator(isolate=False).evaluate(design, workload)
    loma = ZigZagAccelerator("loma", objective="edp", isolate=False).evaluate(design, workload)
    assert loma["edp"] <= fixed["edp"] * 1.05


@requires_zigzag
@pytest.mark.slow
def test_whole_network_against_the_analytical_model():
    """ResNet-18 with the fixed mapping: same traffic floor, latency within a small factor."""
    zz = ZigZagAccelerator(processes=2)
    try:
        z = zz.evaluate(BASELINE_DESIGN, "resnet18")
    finally:
        zz.close()
    a = AnalyticalAccelerator().evaluate(BASELINE_DESIGN, "resnet18")
    assert 0.5 < z["latency_cycles"] / a["latency_cycles"] < 4
    assert 0.5 < z["energy_pj"] / a["energy_pj"] < 4
    assert z["dram_bytes"] >= 0.5 * a["dram_bytes"]
