"""The analytical model's systolic timing mode (``AnalyticalAccelerator(array="systolic")``)."""

import numpy as np
import pytest

from archgym.simulators.accelerator import (
    BASELINE_DESIGN, PARAMETER_VALUES, AnalyticalAccelerator, Layer, Workload, make_accelerator_simulator,
)

SYSTOLIC = AnalyticalAccelerator(array="systolic")
MULTICAST = AnalyticalAccelerator()
#: a GLB and bandwidths large enough that neither the GLB nor the streamed DRAM traffic bounds the cases below
WIDE = {"glb_banks": 32, "noc_bw": 1024, "dram_bw": 64, "clock_mhz": 1000, "rf_bytes": 64, "glb_kib": 512}


def one(layer: Layer, **design) -> dict:
    return SYSTOLIC.breakdown({**BASELINE_DESIGN, **WIDE, **design}, Workload.from_layers("t", [layer])).layers[0]


def test_gemm_folds_pay_fill_and_drain_and_the_first_prefetch():
    """GEMM (M=32 x K=16) . (K=16 x N=8) on an 8 x 8 weight-stationary array.

    Rows <- the reduction K=16: 2 folds of 8; cols <- N=8: 1 fold; T = M = 32 streamed rows.
    Each fold: 8 cycles to shift the weights in, 8 + 8 - 2 of skew, 32 streamed:
    2*rows + cols + T - 2 = 16 + 8 + 32 - 2 = 54 cycles; 2 folds: 108.
    Prefetch before compute: weights 16*8 + inputs 16*32 = 640 B (well under half the GLB)
    at 64 B/cycle = 10 cycles; write-back after it: the 8*32 = 256 B of outputs, 4 cycles;
    nothing else moves, so the layer takes 10 + 108 + 4 = 122 cycles.
    """
    lay = one(Layer.gemm("g", 32, 8, 16), pe_rows=8, pe_cols=8, dataflow="weight_stationary")
    assert lay["compute_cycles"] == 2 * (2 * 8 + 8 + 32 - 2) == 108
    assert lay["prefetch_cycles"] == (16 * 8 + 16 * 32) / 64 == 10
    assert lay["writeback_cycles"] == 8 * 32 / 64 == 4
    assert lay["noc_cycles"] == 0
    assert lay["cycles"] == 122


@pytest.mark.parametrize("dataflow, expected", [
    # OS: rows <- P = M = 32 (4 folds of 8), cols <- N = 8 (1 fold), T = K = 16, nothing to
    # shift in first: 4 * (rows + cols + T - 2) = 4 * (8 + 8 + 16 - 2)
    ("output_stationary", 4 * (8 + 8 + 16 - 2)),
    # IS: rows <- K = 16 (2 folds of 8), cols <- P = M = 32 (4 folds of 8), T = N = 8:
    # 8 * (2*rows + cols + T - 2) = 8 * (16 + 8 + 8 - 2)
    ("input_stationary", 8 * (2 * 8 + 8 + 8 - 2)),
])
def test_output_and_input_stationary_folds(dataflow, expected):
    """The same GEMM under OS and IS (derivation per case)."""
    assert one(Layer.gemm("g", 32, 8, 16), pe_rows=8, pe_cols=8, dataflow=dataflow)["compute_cycles"] == expected


def test_a_partial_fold_pays_the_skew_of_the_whole_array():
    """GEMM (M=10 x K=5) . (K=5 x N=3) on a 16 x 16 WS array: one fold using 5 x 3 PEs, but the
    weights shift in over all 16 rows and the operands cross the array to its edges:
    2*16 + 16 + 10 - 2 = 56 cycles."""
    assert one(Layer.gemm("g", 10, 3, 5), pe_rows=16, pe_cols=16)["compute_cycles"] == 56


def test_depthwise_puts_the_filter_window_on_the_rows():
    """3x3 depthwise, 4 channels, 6x6 outputs on a 4 x 4 WS array: per group (C = K = 1) the
    9-tap window is the reduction, 3 row folds, 1 column fold, T = 36 pixels:
    3 * (2*4 + 4 + 36 - 2) = 138 cycles per group, 4 groups one after another: 552."""
    dw = Layer("dw", "conv", K=1, C=1, OY=6, OX=6, FY=3, FX=3, G=4)  # K, C per group
    assert one(dw, pe_rows=4, pe_cols=4, rf_bytes=64)["compute_cycles"] == 4 * 3 * (2 * 4 + 4 + 36 - 2)


def test_the_noc_bound_drops_and_transfers_after_the_prefetch_still_overlap():
    """With a 1-B/cycle NoC the multicast model is NoC-bound; the systolic array forwards
    operands PE to PE, so its latency is the prefetch, the slowest of compute, GLB and the
    DRAM traffic between prefetch and write-back, and the write-back."""
    layer, d = Layer.conv("c", 14, 14, 3, 3, 32, 32), {"noc_bw": 1, "dram_bw": 4, "glb_kib": 16}  # W + I > S / 2
    wl = Workload.from_layers("t", [layer])
    multicast = MULTICAST.breakdown({**BASELINE_DESIGN, **WIDE, **d}, wl).layers[0]
    assert multicast["cycles"] == multicast["noc_cycles"] > multicast["compute_cycles"]
    lay = one(layer, **d)
    exposed = (lay["prefetch_cycles"] + lay["writeback_cycles"]) * 4
    rest = max(lay["compute_cycles"], lay["glb_cycles"], (lay["dram_bytes_layer"] - exposed) / 4)
    assert lay["cycles"] == pytest.approx(lay["prefetch_cycles"] + rest + lay["writeback_cycles"])
    assert lay["writeback_cycles"] > 0 and 0 < exposed < lay["dram_bytes_layer"]


def test_energy_and_traffic_are_those_of_the_multicast_mapping():
    """The option changes timing only (module doc, assumption 8)."""
    designs = [{**BASELINE_DESIGN, "pe_rows": r, "dataflow": df}
               for r in (8, 32) for df in PARAMETER_VALUES["dataflow"]]
    a, b = SYSTOLIC.evaluate_arrays(designs, "resnet18"), MULTICAST.evaluate_arrays(designs, "resnet18")
    np.testing.assert_array_equal(a.metrics["energy_pj"], b.metrics["energy_pj"])
    np.testing.assert_array_equal(a.metrics["dram_bytes"], b.metrics["dram_bytes"])
    assert np.all(a.metrics["latency_cycles"] != b.metrics["latency_cycles"])


def test_batch_matches_single_evaluations():
    rng = np.random.default_rng(0)
    designs = [{k: v[rng.integers(len(v))] for k, v in PARAMETER_VALUES.items()} for _ in range(64)]
    batch = SYSTOLIC.evaluate_arrays(designs, "mobilenetv2")
    for i in np.flatnonzero(batch.feasible)[:8]:
        single = SYSTOLIC.evaluate(designs[i], "mobilenetv2")
        assert single["latency_cycles"] == pytest.approx(batch.metrics["latency_cycles"][i])


def test_option_is_validated_fingerprinted_and_reachable_by_name():
    assert MULTICAST.fingerprint() == AnalyticalAccelerator(array="multicast").fingerprint() == MULTICAST.identity
    assert SYSTOLIC.fingerprint() != MULTICAST.fingerprint()
    assert make_accelerator_simulator("analytical", array="systolic").fingerprint() == SYSTOLIC.fingerprint()
    assert "systolic" in repr(SYSTOLIC)
    with pytest.raises(ValueError, match="'ring'"):
        AnalyticalAccelerator(array="ring")
