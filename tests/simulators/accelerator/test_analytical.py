"""The analytical accelerator model: hand-computed cases, monotonicity, energy accounting, API."""

import math

import numpy as np
import pytest

from archgym.simulator import SimulationError
from archgym.simulators.accelerator import (
    ACCELERATOR_METRICS, BASELINE_DESIGN, PARAMETER_VALUES, AcceleratorDesign, AnalyticalAccelerator, Layer,
    Workload, list_workloads, load_workload, make_accelerator_simulator,
)
from archgym.simulators.accelerator import energy as E
from archgym.simulators.accelerator.analytical import temporal_loop_order
from archgym.simulators.accelerator.backends import BackendUnavailableError

SIM = AnalyticalAccelerator()
#: bandwidths so large that only compute can bound latency in the small cases below
WIDE = {"glb_banks": 32, "noc_bw": 1024, "dram_bw": 256, "clock_mhz": 1000, "rf_bytes": 64, "glb_kib": 512}


def net(*layers: Layer) -> Workload:
    return Workload.from_layers("test", layers)


def design(**overrides):
    return {**BASELINE_DESIGN, **overrides}


def random_designs(n, seed=0):
    rng = np.random.default_rng(seed)
    return [{k: v[rng.integers(len(v))] for k, v in PARAMETER_VALUES.items()} for _ in range(n)]


# -- hand-computed cases --------------------------------------------------------------------
@pytest.mark.parametrize(
    "dataflow, rows, cols, gemm",
    [
        ("weight_stationary", 16, 16, (64, 16, 16)),  # rows <- C = K_gemm, cols <- K = N, M in time
        ("output_stationary", 64, 16, (64, 16, 16)),  # rows <- P = M, cols <- N
        ("input_stationary", 16, 64, (64, 16, 16)),  # rows <- C = K_gemm, cols <- P = M
    ],
)
def test_gemm_that_exactly_fills_the_array(dataflow, rows, cols, gemm):
    M, N, K = gemm
    workload = net(Layer.gemm("g", M=M, N=N, K=K))
    metrics = SIM.evaluate(design(**WIDE, dataflow=dataflow, pe_rows=rows, pe_cols=cols), workload)
    assert metrics["latency_cycles"] == M * N * K / (rows * cols)
    assert metrics["utilization"] == 1.0
    assert metrics["latency_ms"] == metrics["latency_cycles"] / 1e6  # 1 GHz


def test_conv_that_fills_a_weight_stationary_array():
    layer = Layer.conv("c", 14, 14, 3, 3, 16, 32)  # C = 16 rows, K = 32 = 2 x 16 columns
    metrics = SIM.evaluate(design(**WIDE, dataflow="ws"), net(layer))
    assert metrics["latency_cycles"] == layer.macs / 256 == 2 * 14 * 14 * 9
    assert metrics["utilization"] == 1.0


def test_partial_fold_wastes_the_array():
    full = SIM.evaluate(design(**WIDE), net(Layer.gemm("g", M=64, N=16, K=16)))
    ragged = SIM.evaluate(design(**WIDE), net(Layer.gemm("g", M=64, N=16, K=17)))  # 17 channels: 2 row folds
    assert ragged["latency_cycles"] == 2 * full["latency_cycles"]
    assert ragged["utilization"] == pytest.approx(17 / 32)


def test_dram_bandwidth_bound_fully_connected_layer():
    # weights 4,096,000 B stream once past the 4-KiB input vector held in the GLB; outputs 1,000 B
    fc = Layer.gemm("fc", M=1, N=1000, K=4096)
    metrics = SIM.evaluate(design(dram_bw=4), net(fc))
    assert metrics["dram_bytes"] == 4096 * 1000 + 4096 + 1000
    assert metrics["latency_cycles"] == (4096 * 1000 + 4096 + 1000) / 4


def test_noc_bandwidth_bound():
    g = Layer.gemm("g", M=64, N=16, K=16)
    metrics = SIM.evaluate(design(**{**WIDE, "noc_bw": 8}), net(g))
    noc_bytes = 16 * 16 + 16 * 64 + 16 * 64  # every weight, input and output crosses once
    assert metrics["latency_cycles"] == noc_bytes / 8


def test_glb_too_small_forces_dram_traffic_by_hand():
    layer = Layer.conv("c", 56, 56, 3, 3, 256, 256)
    W, I, O = 256 * 256 * 9, 256 * 58 * 58, 256 * 56 * 56
    big = SIM.evaluate(design(glb_kib=4096), net(layer))
    assert big["dram_bytes"] == W + I + O  # compulsory traffic only
    # 32 KiB: 2 input-channel parts of 128 (psums round-trip once), 2 output rows resident per
    # pass, so 28 passes re-read the weights and the 2 halo rows of every block boundary
    small = SIM.evaluate(design(glb_kib=32), net(layer))
    assert small["dram_bytes"] == I + 27 * 256 * 58 * 2 + 28 * W + O + 8 * O * 1 == 25_403_392



def test_input_stationary_rereads_weights_per_pixel_fold_when_they_do_not_fit():
    # GEMM M=64 (pixels: 4 column folds of 16), K=N=256, C=256. IS keeps all weights in the GLB
    # only if W + one fold's inputs + its psums fit: 65,536 + 256*64 + 4*256*16 = 98,304 B.
    # 32 KiB: WS keeps the whole 16-KiB input while the weights stream once: I + W + O;
    # IS streams every weight to the array once per pixel fold, so it re-reads them: I + 4 W + O.
    g = net(Layer.gemm("g", M=64, N=256, K=256))
    W, I, O = 256 * 256, 256 * 64, 256 * 64
    assert SIM.evaluate(design(glb_kib=32), g)["dram_bytes"] == I + W + O == 98_304
    assert SIM.evaluate(design(glb_kib=32, dataflow="is"), g)["dram_bytes"] == I + 4 * W + O == 294_912
    assert SIM.evaluate(design(glb_kib=96, dataflow="is"), g)["dram_bytes"] == I + W + O  # 98,304 B fit


def test_output_stationary_rereads_weights_per_pixel_pass_when_a_column_fold_does_not_fit():
    # Same GEMM on 16 x 64 OS with one psum set (rf 6 B): 4 pixel folds, each streaming all of W.
    # 32 KiB holds k = floor((32768 - 256*64) / (256 + 4*64)) = 32 < 64 channels' weights (one
    # column fold): every pass re-reads W from DRAM. 64 KiB: k = 96 >= 64, the input stays: I + W.
    g = net(Layer.gemm("g", M=64, N=256, K=256))
    W, I, O = 256 * 256, 256 * 64, 256 * 64
    os_ = {"dataflow": "os", "rf_bytes": 6, "pe_rows": 16, "pe_cols": 64}
    assert SIM.evaluate(design(glb_kib=32, **os_), g)["dram_bytes"] == I + 4 * W + O
    assert SIM.evaluate(design(glb_kib=64, **os_), g)["dram_bytes"] == I + W + O

def test_partial_sums_spill_when_the_rf_holds_one_fold():
    g = net(Layer.gemm("g", M=4, N=16, K=32))  # C = 32: two row folds on 16 rows
    W, I, O = 32 * 16, 32 * 4, 16 * 4
    one_set = SIM.breakdown(design(rf_bytes=6), g).layers[0]  # 1 B weight + 5 B registers
    assert one_set["noc_bytes"] == W + I + O * (8 * 1 + 1)  # psums out at 4 B and back once
    two_sets = SIM.breakdown(design(rf_bytes=7), g).layers[0]  # both folds' weights stay
    assert two_sets["noc_bytes"] == W + I + O



def test_conv_inputs_reach_the_pes_once_per_filter_tap():
    # 3x3 conv, C = K = 16 on a 16x16 WS array: one fold each. One-element input registers and
    # no line buffer: every (input channel, output pixel, tap) is one delivery, Ie = C*P*R
    # (not the C*10*10 = 1,600 distinct input bytes); weights and outputs cross once.
    layer = Layer.conv("c", 8, 8, 3, 3, 16, 16)
    W, Ie, O = 16 * 16 * 9, 16 * 64 * 9, 16 * 64
    assert SIM.breakdown(design(**WIDE), net(layer)).layers[0]["noc_bytes"] == W + Ie + O == 12_544


def test_weight_stationary_rf_holds_input_channel_folds_not_output_channel_folds():
    # C = 16: one row fold; K = 32: two column folds on 16 columns. The input register holds one
    # element, so inputs are re-sent for the second column fold however large the RF is.
    g = net(Layer.gemm("g", M=4, N=32, K=16))
    W, I, O = 16 * 32, 16 * 4, 32 * 4
    for rf_bytes in (6, 1024):
        assert SIM.breakdown(design(rf_bytes=rf_bytes), g).layers[0]["noc_bytes"] == W + 2 * I + O


def test_output_stationary_reuses_the_register_of_the_innermost_fold_only():
    # OS GEMM M=64 (P: 4 row folds on 16 rows), N=32 (K: 2 column folds), C=16. rf_bytes=18 holds
    # 4 psum sets (18 - 2 B registers) / 4 B. Pixel folds innermost reuse the weight register:
    # W*1 + Ie*2 = 512 + 2048; output-channel folds innermost reuse the input register:
    # W*4 + Ie*1 = 2048 + 1024. The cheaper, plus the outputs once (O = 2048).
    g = net(Layer.gemm("g", M=64, N=32, K=16))
    W, Ie, O = 16 * 32, 16 * 64, 64 * 32
    layer = SIM.breakdown(design(**{**WIDE, "rf_bytes": 18}, dataflow="os"), g).layers[0]
    assert layer["noc_bytes"] == W + 2 * Ie + O == 4_608


@pytest.mark.parametrize("dataflow, innermost", [("weight_stationary", ("C",)), ("input_stationary", ("C",)),
                                                 ("output_stationary", ("OX", "OY"))])
def test_temporal_loop_order_holds_the_rf_folds_innermost(dataflow, innermost):
    layer = Layer.conv("c", 28, 28, 3, 3, 128, 128)
    order = temporal_loop_order(design(dataflow=dataflow, rf_bytes=64, pe_rows=16, pe_cols=16), layer)
    assert {d for part, _ in order for d in part} == {"FX", "FY", "C", "K", "OX", "OY"}
    # WS/IS: 64 B - 5 B of registers hold 6 filter windows: 6 of the 8 input-channel folds of 16
    # rows = 96 channels; OS: (64 - 2) / 4 = 15 psum sets: 15 of the 49 pixel folds = 240 pixels
    if dataflow != "output_stationary":
        assert order[:3] == [(("FX",), None), (("FY",), None), (("C",), 6 * 16)]  # the reduction innermost
    else:
        assert order[0] == (innermost, 15 * 16)


def test_temporal_loop_order_follows_the_glb_tiling():
    # 512 KiB: the 147-KiB weights of 3x3 128->128 stay, the input streams once: weights resident,
    # all K at once, so K is split at no level and the output rows stream outside it
    layer = Layer.conv("c", 28, 28, 3, 3, 128, 128)
    order = temporal_loop_order(design(glb_kib=512), layer)
    assert order[-4:] == [(("C",), None), (("K",), 128), (("OY",), None), (("K",), None)]
    # 3x3 512->512 at 7x7 (2.4 MB of weights, 41 KB of input) in 1 MiB: the input stays and the
    # weights stream once past all 7 output rows
    big = Layer.conv("c", 7, 7, 3, 3, 512, 512)
    assert temporal_loop_order(design(glb_kib=1024), big)[-4:] == [(("OY",), 7), (("C",), None), (("K",), None),
                                                                   (("OY",), None)]

def test_energy_is_counts_times_the_table():
    workload = net(Layer.gemm("g", M=64, N=16, K=16))
    report = SIM.breakdown(design(**WIDE), workload)
    macs = 64 * 16 * 16
    expected_counts = {"mac": macs, "rf": 10 * macs, "noc": 2304, "glb": 2 * 2304, "dram": 2304}
    assert report.counts == expected_counts
    expected_units = {  # 1 GHz: voltage factor 1
        "mac": 0.3,
        "rf": 1.25 * math.sqrt(64 / 8192),
        "noc": 0.6,
        "glb": 1.25 * math.sqrt(512 * 1024 / 32 / 8192),
        "dram": 162.5,
    }
    assert report.unit_energy_pj == pytest.approx(expected_units)
    total = sum(expected_counts[k] * expected_units[k] for k in expected_counts)
    assert report.metrics["energy_pj"] == pytest.approx(total)
    assert sum(report.energy_pj.values()) == pytest.approx(total)


def test_lower_clock_lowers_on_chip_energy_by_the_voltage_factor():
    fast = SIM.breakdown(design(clock_mhz=1000), "resnet18")
    slow = SIM.breakdown(design(clock_mhz=200), "resnet18")
    factor = (0.7 / 0.9) ** 2
    for key in ("mac", "rf", "noc", "glb"):
        assert slow.energy_pj[key] == pytest.approx(factor * fast.energy_pj[key])
    assert slow.energy_pj["dram"] == fast.energy_pj["dram"]
    assert slow.metrics["latency_cycles"] == fast.metrics["latency_cycles"]
    assert slow.metrics["latency_ms"] == pytest.approx(5 * fast.metrics["latency_ms"])


def test_area_of_the_baseline_by_hand():
    area = SIM.evaluate(BASELINE_DESIGN, "resnet18")["area_mm2"]
    pes = 256
    expected = pes * 0.001 + pes * 256 * 40e-6 + 512 * 0.005 + 8 * 0.02 + 64 * 32 * 40e-6 + 16 * 0.05
    assert area == pytest.approx(expected)


def test_derived_metrics_are_consistent():
    m = SIM.evaluate(BASELINE_DESIGN, "resnet50")
    assert m["latency_ms"] == pytest.approx(m["latency_cycles"] / 400e3)
    assert m["energy_uj"] == pytest.approx(m["energy_pj"] / 1e6)
    assert m["edp"] == pytest.approx(m["energy_uj"] * m["latency_ms"])
    assert m["throughput_inf_s"] == pytest.approx(1000 / m["latency_ms"])
    assert m["utilization"] == pytest.approx(load_workload("resnet50").total_macs / (256 * m["latency_cycles"]))
    assert set(m) == {metric.name for metric in ACCELERATOR_METRICS}


def test_eyeriss_sized_array_runs_alexnet_conv_layers_near_the_published_rate():
    """A sanity check against silicon, not a calibration: Eyeriss (Chen et al., JSSC 2017) runs
    AlexNet's conv layers at 34.7 frames/s (28.8 ms, about 69 % of its 168 PEs' peak) at 200 MHz
    with 108 KB of GLB and 0.5 KB per PE. Its dataflow is row stationary, which this model does
    not implement; the same-sized weight-stationary array should land in the same range."""
    alexnet = load_workload("alexnet")
    conv = Workload.from_layers("alexnet-conv", [layer for layer in alexnet.layers if layer.type == "conv"])
    eyeriss = {"pe_rows": 12, "pe_cols": 14, "dataflow": "weight_stationary", "rf_bytes": 512, "glb_kib": 108,
               "glb_banks": 27, "noc_bw": 16, "dram_bw": 8, "clock_mhz": 200}
    metrics = SIM.evaluate(eyeriss, conv)
    assert metrics["latency_ms"] == pytest.approx(1000 / 34.7, rel=0.2)
    assert metrics["utilization"] == pytest.approx(0.69, abs=0.1)


# -- properties over the design space ------------------------------------------------------------
@pytest.mark.parametrize("workload", list_workloads())
def test_shrinking_the_glb_never_reduces_dram_traffic(workload):
    designs = random_designs(200, seed=1)
    previous = None
    for kib in reversed(PARAMETER_VALUES["glb_kib"]):
        result = SIM.evaluate_arrays([{**d, "glb_kib": kib} for d in designs], workload)
        dram = result.metrics["dram_bytes"]
        if previous is not None:
            both = np.isfinite(dram) & np.isfinite(previous)
            assert np.all(dram[both] >= previous[both])
        previous = dram


@pytest.mark.parametrize("workload", list_workloads())
def test_bounds_hold_for_random_designs(workload):
    designs = random_designs(300, seed=2)
    result = SIM.evaluate_arrays(designs, workload)
    ok = result.feasible
    assert ok.any()
    w = load_workload(workload)
    compulsory = sum((l.weight_elements + l.output_elements) * l.repeat for l in w.layers)
    m = {k: v[ok] for k, v in result.metrics.items()}
    pes = np.array([d["pe_rows"] * d["pe_cols"] for d in designs])[ok]
    assert np.all(m["latency_cycles"] >= w.total_macs / pes - 1e-6)
    assert np.all((m["utilization"] > 0) & (m["utilization"] <= 1 + 1e-12))
    assert np.all(m["dram_bytes"] >= compulsory)
    assert np.all(m["energy_pj"] > w.total_macs * E.MAC_PJ * E.voltage_scale(200))
    assert all(np.isnan(v[~ok]).all() for v in result.metrics.values())


@pytest.mark.parametrize("dataflow", ["weight_stationary", "output_stationary", "input_stationary"])
def test_a_larger_rf_never_increases_noc_traffic(dataflow):
    for d in random_designs(20, seed=3):
        previous = math.inf
        for rf in PARAMETER_VALUES["rf_bytes"][3:]:  # >= 128 B: every mobilenetv2 layer maps
            noc = SIM.breakdown({**d, "dataflow": dataflow, "rf_bytes": rf}, "mobilenetv2").counts["noc"]
            assert noc <= previous
            previous = noc


def test_depthwise_convolution_uses_one_pe_per_group_on_weight_stationary():
    dw = Layer.conv("dw", 28, 28, 3, 3, 64, 64, groups=64)
    layer = SIM.breakdown(design(**WIDE), net(dw)).layers[0]
    assert layer["spatial_utilization"] == 1 / 256
    assert layer["compute_cycles"] == 64 * 28 * 28 * 9


# -- infeasible designs -----------------------------------------------------------------------
def test_rf_too_small_for_the_stationary_window_is_infeasible():
    with pytest.raises(SimulationError, match=r"rf_bytes=32 .* layer 'conv1'.* 54 B .*7x7 weight window"):
        SIM.evaluate(design(rf_bytes=32), "resnet18")
    with pytest.raises(SimulationError, match="7x7 input window"):
        SIM.evaluate(design(rf_bytes=32, dataflow="input_stationary"), "resnet18")
    # output stationary keeps one 4-B psum per PE: 16 B is enough
    assert SIM.evaluate(design(rf_bytes=16, dataflow="output_stationary"), "resnet18")["latency_ms"] > 0


def test_glb_too_small_for_one_output_row_is_infeasible():
    wide = net(Layer.conv("wide", 1, 20000, 3, 3, 1, 1))
    with pytest.raises(SimulationError, match=r"glb_kib=32 cannot hold one output row of layer 'wide'"):
        SIM.evaluate(design(glb_kib=32), wide)
    assert SIM.evaluate(design(glb_kib=256), wide)["dram_bytes"] > 0


def test_batch_matches_single_and_reports_infeasible_designs():
    designs = random_designs(50, seed=4)
    result = SIM.evaluate_arrays(designs, "resnet18")
    assert 0 < result.feasible.sum() < len(designs)
    for i, d in enumerate(designs):
        if result.feasible[i]:
            assert SIM.evaluate(d, "resnet18") == result.row(i)
            assert result.errors[i] is None
        else:
            with pytest.raises(SimulationError) as info:
                SIM.evaluate(d, "resnet18")
            assert str(info.value) == result.errors[i]
    feasible = [d for d, ok in zip(designs, result.feasible) if ok]
    assert SIM.evaluate_batch(feasible, "resnet18") == [SIM.evaluate(d, "resnet18") for d in feasible]
    first_bad = int(np.flatnonzero(~result.feasible)[0])
    with pytest.raises(SimulationError, match=f"design {first_bad} of 50: infeasible"):
        SIM.evaluate_batch(designs, "resnet18")


# -- API ---------------------------------------------------------------------------------------
def test_design_parsing():
    assert SIM.evaluate({}, "alexnet") == SIM.evaluate(BASELINE_DESIGN, "alexnet")
    assert SIM.evaluate({"dataflow": "os", "pe_rows": "32"}, "alexnet") == SIM.evaluate(
        design(dataflow="output_stationary", pe_rows=32), "alexnet")
    with pytest.raises(ValueError, match="unknown accelerator parameter"):
        SIM.evaluate({"pe_row": 4}, "alexnet")
    with pytest.raises(ValueError, match="'pe_rows'"):
        SIM.evaluate({"pe_rows": 0}, "alexnet")
    with pytest.raises(ValueError, match="'dataflow'"):
        SIM.evaluate({"dataflow": "row_stationary"}, "alexnet")
    with pytest.raises(ValueError, match="'glb_kib'"):
        SIM.evaluate_batch([{}, {"glb_kib": 1.5}], "alexnet")
    with pytest.raises(ValueError, match="'noc_bw'"):
        SIM.evaluate({"noc_bw": float("inf")}, "alexnet")
    assert SIM.evaluate_batch([], "alexnet") == []
    with pytest.raises(ValueError, match="outside the design space"):
        AcceleratorDesign(pe_rows=12).check_in_space()
    # the model itself is not limited to the grid: an Eyeriss-sized 12 x 14 array maps
    assert SIM.evaluate({"pe_rows": 12, "pe_cols": 14, "glb_kib": 108}, "alexnet")["latency_ms"] > 0


def test_deterministic_identity_and_workload_keys(tmp_path):
    assert SIM.evaluate(BASELINE_DESIGN, "vgg16") == AnalyticalAccelerator().evaluate(BASELINE_DESIGN, "vgg16")
    assert SIM.fingerprint() == "accelerator-analytical@" + SIM.version
    assert SIM.workload_key("ResNet18") == "resnet18"
    path = tmp_path / "mine.csv"
    path.write_text("name,type,in_h,in_w,filter_h,filter_w,in_channels,out_channels,stride,groups,M,N,K,repeat\n"
                    "fc,gemm,,,,,,,,,1,10,20,1\n")
    key = SIM.workload_key(str(path))
    assert key.startswith("mine:") and len(key) == len("mine:") + 16
    assert SIM.evaluate({}, str(path))["dram_bytes"] == 200 + 20 + 10


def test_backend_registry():
    assert isinstance(make_accelerator_simulator("analytical"), AnalyticalAccelerator)
    with pytest.raises(ValueError, match="analytical, zigzag, scalesim"):
        make_accelerator_simulator("timeloop")


def test_unavailable_backend_is_a_clear_import_error(monkeypatch):
    from archgym.simulators.accelerator import backends

    monkeypatch.setitem(backends.BACKENDS, "missing", "archgym.simulators.accelerator.no_such_module:X")
    with pytest.raises(BackendUnavailableError, match="backend 'missing' is unavailable"):
        make_accelerator_simulator("missing")
