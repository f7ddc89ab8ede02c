"""The training-step model: its decomposition, parallelism checks and the batch path."""

import numpy as np
import pytest

from archgym.simulator import SimulationError
from archgym.simulators.training.step import NPUConfig, TrainingSimulator

BASE = dict(shape="4x4x4", kind0="Ring", kind1="Switch", kind2="Switch", bw0=200, bw1=100, bw2=50,
            alg0="ring", alg1="halvingDoubling", alg2="halvingDoubling", chunks=4, tp=4, pp=2)


@pytest.fixture(scope="module")
def sim():
    return TrainingSimulator(npus=64)


def test_step_time_decomposes(sim):
    m = sim.evaluate(BASE, "gpt3-1.3b")
    assert m["step_time_ms"] == pytest.approx(m["compute_time_ms"] + m["exposed_comm_ms"] + m["bubble_ms"])
    assert m["exposed_comm_ms"] == pytest.approx(m["tp_comm_ms"] + m["pp_comm_ms"] + m["dp_comm_ms"])
    assert m["dp"] == 8 and m["micro_batches"] == 512 / 8
    assert m["throughput"] == pytest.approx(512 / (m["step_time_ms"] / 1e3))


def test_compute_is_the_roofline():
    """With TP = PP = 1 the compute time is 3 x forward FLOPs of the local batch / peak (GEMMs are compute-bound)."""
    sim = TrainingSimulator(npus=64, npu=NPUConfig(peak_tflops=100.0, memory_gib=1000))
    m = sim.evaluate(dict(BASE, tp=1, pp=1), "gpt3-1.3b")
    from archgym.simulators.training.workloads import load_training_workload

    wl = load_training_workload("gpt3-1.3b")
    flops = 3 * wl.fwd_flops * wl.global_batch / 64
    assert m["compute_time_ms"] == pytest.approx(flops / 100e12 * 1e3, rel=0.02)


def test_parallelism_shapes_the_costs(sim):
    no_pp = sim.evaluate(dict(BASE, pp=1), "gpt3-1.3b")
    assert no_pp["bubble_ms"] == 0 and no_pp["pp_comm_ms"] == 0
    no_tp = sim.evaluate(dict(BASE, tp=1, kind0="Switch"), "gpt3-1.3b")
    assert no_tp["tp_comm_ms"] == 0
    only_dp_free = sim.evaluate(dict(BASE, tp=8, pp=8), "gpt3-1.3b")
    assert only_dp_free["dp_comm_ms"] == 0 and only_dp_free["dp"] == 1


def test_faster_links_shorten_the_step(sim):
    slow = sim.evaluate(dict(BASE, bw0=25, bw1=25, bw2=25), "gpt3-1.3b")
    fast = sim.evaluate(dict(BASE, bw0=400, bw1=400, bw2=400), "gpt3-1.3b")
    assert fast["step_time_ms"] < slow["step_time_ms"]
    assert fast["compute_time_ms"] == pytest.approx(slow["compute_time_ms"])
    assert fast["network_cost"] == 16 * slow["network_cost"]


def test_congestion_aware_step_is_not_faster():
    design = dict(BASE, alg0="direct")
    plain = TrainingSimulator(npus=64).evaluate(design, "gpt3-1.3b")
    aware = TrainingSimulator(npus=64, congestion_aware=True).evaluate(design, "gpt3-1.3b")
    assert aware["step_time_ms"] >= plain["step_time_ms"]


def test_batch_equals_single(sim):
    rng = np.random.default_rng(0)
    designs = []
    for _ in range(30):
        d = dict(BASE)
        d.update(shape=str(rng.choice(["4x4x4", "8x8", "2x32", "64", "4x16"])), tp=int(rng.choice([1, 2, 4, 8])),
                 pp=int(rng.choice([1, 2, 4])), alg0=str(rng.choice(["ring", "direct", "halvingDoubling"])),
                 kind0=str(rng.choice(["Ring", "Switch", "FullyConnected"])), chunks=int(rng.choice([1, 4, 16])))
        designs.append(d)
    batch = sim.evaluate_batch(designs, "gpt3-1.3b", errors="return")
    for d, b in zip(designs, batch):
        try:
            single = sim.evaluate(d, "gpt3-1.3b")
        except SimulationError as exc:
            assert isinstance(b, SimulationError) and str(b) == str(exc)
            continue
        assert b == pytest.approx(single)
    assert sum(isinstance(b, dict) for b in batch) >= 10


@pytest.mark.parametrize(
    "change,workload,match",
    [
        (dict(tp=32, pp=1), "gpt3-1.3b", "TP=32 does not divide the 16 attention heads"),
        (dict(tp=4, pp=32), "gpt3-1.3b", "TP x PP = 4x32 = 128 does not divide the 64 NPUs"),
        (dict(tp=1, pp=1), "gpt3-13b", "GiB per NPU .* more than the NPU's 80 GiB"),
        (dict(tp=2, pp=1), "resnet50", "no tensor-parallel layers; tp must be 1"),
        (dict(shape="4x4x2"), "gpt3-1.3b", "multiply to 32, expected 64 NPUs"),
        (dict(shape="4x4x4x1"), "gpt3-1.3b", "dimension must have size >= 2"),
        (dict(bw1=0), "gpt3-1.3b", "bandwidth must be positive"),
        (dict(lat0=-3), "gpt3-1.3b", "latency must be positive"),
        (dict(alg2="tree"), "gpt3-1.3b", "unknown collective algorithm 'tree'"),
        (dict(kind2="Mesh"), "gpt3-1.3b", "unknown topology kind 'Mesh'"),
        (dict(chunks=0), "gpt3-1.3b", "chunks must be >= 1"),
    ],
)
def test_infeasible_designs_raise_simulation_error(sim, change, workload, match):
    with pytest.raises(SimulationError, match=match):
        sim.evaluate(dict(BASE, **change), workload)


def test_group_must_align_with_dimensions():
    sim = TrainingSimulator(npus=48)
    design = dict(BASE, shape="3x16", tp=2, pp=1, alg0="ring", alg1="ring")
    with pytest.raises(SimulationError, match="group of 2 NPUs cannot split a network dimension of 3"):
        sim.evaluate(design, "gpt:layers=4,hidden=256,heads=4,seq=128,vocab=1000,batch=48,micro_batch=1")
    with pytest.raises(SimulationError, match="would split a Ring dimension of 16"):
        TrainingSimulator(npus=64).evaluate(dict(BASE, shape="16x4", kind0="Ring", tp=4, pp=1), "gpt3-1.3b")
    # a switch may be split: any subset of a switch is a switch
    TrainingSimulator(npus=64).evaluate(dict(BASE, shape="16x4", kind0="Switch", alg0="halvingDoubling", tp=4, pp=1),
                                        "gpt3-1.3b")
    hd = dict(BASE, shape="6x8", tp=2, pp=1, alg0="halvingDoubling", alg1="ring")
    with pytest.raises(SimulationError, match="power-of-two"):
        TrainingSimulator(npus=48).evaluate(dict(hd, shape="12x4", tp=1, pp=1),
                                            "gpt:layers=4,hidden=256,heads=4,seq=128,vocab=1000,batch=48,micro_batch=1")


def test_missing_design_key(sim):
    design = dict(BASE)
    del design["kind1"]
    with pytest.raises(SimulationError, match="design lacks 'kind1'"):
        sim.evaluate(design, "gpt3-1.3b")


def test_gpt_kernels_carry_the_layer_flops():
    from archgym.simulators.training.workloads import load_training_workload

    for layer in load_training_workload("gpt3-1.3b").layers:
        if layer.kernels:
            assert 2 * sum(k.total_macs for k in layer.kernels) == pytest.approx(layer.fwd_flops)


def test_compute_from_the_accelerator_model():
    """Co-design: a 4x larger PE array at the same clock cuts compute time (the network part is unchanged)."""
    small = TrainingSimulator(npus=64, accelerator={"pe_rows": 32, "pe_cols": 32, "glb_kib": 4096, "noc_bw": 1024,
                                                    "dram_bw": 256})
    big = TrainingSimulator(npus=64, accelerator={"pe_rows": 64, "pe_cols": 64, "glb_kib": 4096, "noc_bw": 1024,
                                                  "dram_bw": 256})
    a, b = small.evaluate(BASE, "gpt3-1.3b"), big.evaluate(BASE, "gpt3-1.3b")
    assert 2.0 < a["compute_time_ms"] / b["compute_time_ms"] <= 4.0 + 1e-9
    assert a["dp_comm_ms"] == pytest.approx(b["dp_comm_ms"])
    assert small.fingerprint() != big.fingerprint()
    with pytest.raises(ValueError, match="unknown accelerator parameter"):
        TrainingSimulator(accelerator={"pes": 4})


def test_workload_file_is_reread_when_edited(tmp_path):
    path = tmp_path / "model.csv"
    header = "# global_batch: 64\n# micro_batch: 1\nname,fwd_flops,params,activation_bytes,boundary_bytes,tp_split,tp_comm_bytes\n"
    path.write_text(header + "block,1e12,1e6,1e5,1e5,1,1e5\n")
    sim = TrainingSimulator(npus=64)
    design = dict(BASE, tp=4, pp=1)
    first = sim.evaluate(design, str(path))
    key = sim.workload_key(str(path))
    import os

    path.write_text(header + "block,2e12,1e6,1e5,1e5,1,1e5\n")
    os.utime(path, ns=(1, 10**18))  # a different modification time even on coarse clocks
    second = sim.evaluate(design, str(path))
    assert second["compute_time_ms"] == pytest.approx(2 * first["compute_time_ms"])
    assert sim.workload_key(str(path)) != key
