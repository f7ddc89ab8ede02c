"""Collective times against ASTRA-sim's analytical backend (reference figures) and their edge cases."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from archgym.simulators.training.collectives import (
    CollectiveError,
    SystemConfig,
    algorithm_code,
    chunking,
    collective_time,
    phase_plan,
)
from archgym.simulators.training.network import Topology, TopologyError, bytes_per_ns, kind_code
from archgym.simulators.training.step import allreduce_batch

MIB = 1 << 20
ROOT = Path(__file__).resolve().parents[3]
#: the team's data folder next to the repository (or to the worktree folder), or $ARCHGYM_DATA
_CANDIDATES = [Path(os.environ["ARCHGYM_DATA"])] if os.environ.get("ARCHGYM_DATA") else []
_CANDIDATES += [ROOT / "tests" / "data", ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
REFERENCE = next((c / "astrasim_reference" for c in _CANDIDATES if (c / "astrasim_reference").is_dir()),
                 _CANDIDATES[-1] / "astrasim_reference")

# ASTRA-sim c459ab6 finish times (ns), 8 NPUs, 50 GB/s, 500 ns, 4 chunks (astrasim_reference/README.md tables)
SPOT_CHECKS = [
    # unaware
    ("Ring", "ring", "all_reduce", 1024, False, 28600),
    ("Ring", "ring", "all_reduce", 256 * MIB, False, 9218928),
    ("Ring", "direct", "all_reduce", 16 * MIB, False, 96164),
    ("Ring", "direct", "all_reduce", 256 * MIB, False, 1325024),
    ("Ring", "halvingDoubling", "reduce_scatter", 256 * MIB, False, 4577884),
    ("FullyConnected", "direct", "all_gather", 256 * MIB, False, 5002080),
    ("FullyConnected", "halvingDoubling", "all_reduce", 1 * MIB, False, 47168),
    ("Switch", "halvingDoubling", "all_gather", 64 * 1024, False, 20700),
    ("Switch", "ring", "all_to_all", 256 * MIB, False, 17613160),
    ("Switch", "direct", "all_to_all", 16 * MIB, False, 43140),
    # congestion-aware
    ("Ring", "direct", "all_reduce", 256 * MIB, True, 12571024),
    ("Ring", "halvingDoubling", "all_gather", 16 * MIB, True, 3764160),
    ("Switch", "halvingDoubling", "all_reduce", 1 * MIB, True, 93336),
    ("Switch", "ring", "reduce_scatter", 256 * MIB, True, 9218648),
    ("Switch", "direct", "all_to_all", 256 * MIB, True, 5004080),
]


def ring8(kind: str) -> Topology:
    return Topology.from_lists([kind], [8], [50.0], 500.0)


@pytest.mark.parametrize("kind,alg,coll,size,aware,expected", SPOT_CHECKS)
def test_matches_astrasim_spot_checks(kind, alg, coll, size, aware, expected):
    t = collective_time(ring8(kind), coll, size, [alg], SystemConfig(congestion_aware=aware))
    assert t == pytest.approx(expected, rel=1e-4)


@pytest.mark.skipif(not (REFERENCE / "collectives.csv").exists(), reason="ASTRA-sim reference data not present")
def test_every_reference_run_within_goal():
    """Congestion-unaware within 1 %, congestion-aware within 10 %, on all 340 runs."""
    worst = {"unaware": 0.0, "aware": 0.0}
    with open(REFERENCE / "collectives.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 340
    for r in rows:
        aware = r["backend"] == "analytical_congestion_aware"
        topo = Topology.from_lists([r["topology"].split("_")[0]], [int(r["npus"])], [float(r["bandwidth_GBps"])],
                                   float(r["latency_ns"]))
        t = collective_time(topo, r["collective"], int(r["size_bytes"]), r["algorithm_per_dim"].split("_"),
                            SystemConfig(congestion_aware=aware))
        err = abs(t - float(r["finish_ns_max"])) / float(r["finish_ns_max"])
        key = "aware" if aware else "unaware"
        worst[key] = max(worst[key], err)
    assert worst["unaware"] < 0.01
    assert worst["aware"] < 0.10


def test_units_gb_is_two_to_the_thirty():
    assert bytes_per_ns(50.0) == pytest.approx(53.6870912)
    # one 256 MiB message over a 50 GB/s FullyConnected link: exactly 5 ms of serialisation
    topo = Topology.from_lists(["FullyConnected"], [2], [50.0], 1.0)
    t = collective_time(topo, "all_to_all", 2 * 256 * MIB, ["direct"], SystemConfig(chunks=1, endpoint_delay_ns=0))
    assert t == 5_000_000 + 1  # message = size / 2 NPUs = 256 MiB, plus one 1-ns hop


def test_chunking_follows_astrasim():
    assert chunking(1 * MIB, 8, "all_reduce", 4) == (MIB / 4, 4)
    assert chunking(16, 64, "all_reduce", 4) == (64.0, 4)  # at least one byte per NPU
    assert chunking(16, 64, "all_gather", 4) == (4.0, 4)  # all-gather has no minimum
    assert chunking(1001, 8, "all_reduce", 4) == (250.0, 5)
    with pytest.raises(CollectiveError, match="at least|>="):
        chunking(2, 8, "all_gather", 4)


def test_phase_plan_is_hierarchical():
    assert phase_plan("all_reduce", 3) == [("reduce_scatter", 0), ("reduce_scatter", 1), ("all_reduce", 2),
                                          ("all_gather", 1), ("all_gather", 0)]
    assert phase_plan("all_gather", 2) == [("all_gather", 1), ("all_gather", 0)]
    assert phase_plan("all_to_all", 2) == [("all_to_all", 0), ("all_to_all", 1)]


def test_multi_dim_chunks_pipeline_across_dimensions():
    topo = Topology.from_lists(["Ring", "Switch"], [4, 4], [100.0, 25.0])
    one = collective_time(topo, "all_reduce", 64 * MIB, ["ring", "halvingDoubling"], SystemConfig(chunks=1))
    four = collective_time(topo, "all_reduce", 64 * MIB, ["ring", "halvingDoubling"], SystemConfig(chunks=4))
    # with several dimensions, chunks overlap: 4 chunks of a quarter finish sooner than 1 whole
    assert four < one
    # on one dimension there is nothing to overlap: chunks run back to back
    flat = Topology.from_lists(["Ring"], [16], [100.0])
    assert collective_time(flat, "all_gather", 64 * MIB, ["ring"], SystemConfig(chunks=4)) == pytest.approx(
        collective_time(flat, "all_gather", 64 * MIB, ["ring"], SystemConfig(chunks=1)), rel=0.01)


def test_more_bandwidth_is_never_slower():
    for kind in ("Ring", "FullyConnected", "Switch"):
        for alg in ("ring", "direct", "halvingDoubling"):
            slow = collective_time(Topology.from_lists([kind], [8], [25.0]), "all_reduce", 8 * MIB, [alg])
            fast = collective_time(Topology.from_lists([kind], [8], [200.0]), "all_reduce", 8 * MIB, [alg])
            assert fast < slow


def test_congestion_aware_is_never_faster():
    rng = np.random.default_rng(0)
    for _ in range(20):
        kind = str(rng.choice(["Ring", "FullyConnected", "Switch"]))
        alg = str(rng.choice(["ring", "direct", "halvingDoubling"]))
        coll = str(rng.choice(["all_reduce", "all_gather", "reduce_scatter"]))
        topo = Topology.from_lists([kind], [8], [float(rng.choice([25, 100]))])
        size = int(rng.choice([64 * 1024, 4 * MIB]))
        assert collective_time(topo, coll, size, [alg], SystemConfig(congestion_aware=True)) >= collective_time(
            topo, coll, size, [alg]) - 1e-9


def test_batch_all_reduce_equals_scalar():
    """The vectorised path used by the step model agrees with :func:`collective_time`."""
    rng = np.random.default_rng(1)
    rows, sizes, chunks, expected = [], [], [], []
    for _ in range(40):
        ndims = int(rng.integers(1, 4))
        kinds = [str(k) for k in rng.choice(["Ring", "FullyConnected", "Switch"], ndims)]
        shape = [int(s) for s in rng.choice([2, 4, 8], ndims)]
        bws = [float(b) for b in rng.choice([25, 50, 200], ndims)]
        algs = [str(a) for a in rng.choice(["ring", "direct", "halvingDoubling"], ndims)]
        size, nchunks = float(rng.choice([4096, 3 * MIB, 100 * MIB])), int(rng.choice([1, 4, 8]))
        topo = Topology.from_lists(kinds, shape, bws, 700.0)
        expected.append(collective_time(topo, "all_reduce", size, algs, SystemConfig(chunks=nchunks)))
        row = [(kind_code(k), s, bytes_per_ns(b), 700.0, algorithm_code(a)) for k, s, b, a in zip(kinds, shape, bws, algs)]
        rows.append(row + [(0, 1, 1.0, 0.0, 0)] * (4 - ndims))
        sizes.append(size)
        chunks.append(nchunks)
    got = allreduce_batch(np.asarray(rows, dtype=float), np.asarray(sizes), np.asarray(chunks, float), SystemConfig())
    np.testing.assert_allclose(got, expected, rtol=1e-9)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: collective_time(ring8("Ring"), "broadcast", MIB), "unknown collective 'broadcast'"),
        (lambda: collective_time(ring8("Ring"), "all_reduce", MIB, ["tree"]), "unknown collective algorithm 'tree'"),
        (lambda: collective_time(ring8("Ring"), "all_to_all", MIB, ["halvingDoubling"]), "no all_to_all"),
        (lambda: collective_time(Topology.from_lists(["Switch"], [6], [50.0]), "all_reduce", MIB, ["halvingDoubling"]),
         "power-of-two"),
        (lambda: collective_time(ring8("Ring"), "all_reduce", MIB, ["ring", "ring"]), "2 algorithms given for a 1-D"),
        (lambda: collective_time(ring8("Ring"), "all_reduce", 0), "size must be positive"),
        (lambda: SystemConfig(chunks=0), "chunks must be a positive integer"),
    ],
)
def test_bad_collective_input(call, match):
    with pytest.raises(CollectiveError, match=match):
        call()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(kinds=["Ring", "Ring"], sizes=[4, 4], bandwidths_gbps=[50, 50], npus=32), "multiply to 16, expected 32"),
        (dict(kinds=["Ring"], sizes=[8], bandwidths_gbps=[0]), "bandwidth must be positive"),
        (dict(kinds=["Ring"], sizes=[8], bandwidths_gbps=[-5]), "bandwidth must be positive"),
        (dict(kinds=["Ring"], sizes=[8], bandwidths_gbps=[50], latencies_ns=[0]), "latency must be positive"),
        (dict(kinds=["Torus"], sizes=[8], bandwidths_gbps=[50]), "unknown topology kind 'Torus'"),
        (dict(kinds=["Ring"], sizes=[1], bandwidths_gbps=[50]), "size must be an integer >= 2"),
        (dict(kinds=["Ring", "Ring"], sizes=[8], bandwidths_gbps=[50]), "differ in length"),
    ],
)
def test_bad_topology(kwargs, match):
    with pytest.raises(TopologyError, match=match):
        Topology.from_lists(**kwargs)


# ASTRA-sim c459ab6 built from source (benchmarks/training_validation.py --astrasim-bin), 16 NPUs,
# 500 ns, 4 chunks, each block's natural algorithm; finish times in ns
MULTI_DIM_CHECKS = [
    (["Ring", "Ring"], [4, 4], [50.0, 50.0], "all_reduce", 64 * MIB, 1981676),
    (["Switch", "FullyConnected"], [8, 2], [50.0, 100.0], "all_reduce", 1 * MIB, 59208),
    (["Ring", "Ring", "Switch"], [2, 2, 4], [100.0, 50.0, 25.0], "all_reduce", 64 * MIB, 1299725),
    (["Ring", "Switch"], [4, 4], [200.0, 50.0], "all_reduce", 64 * MIB, 636659),
    (["FullyConnected", "Ring"], [4, 4], [100.0, 25.0], "all_gather", 64 * MIB, 8131680),
    (["Ring", "Switch"], [4, 4], [200.0, 50.0], "all_to_all", 64 * MIB, 560169),
]


@pytest.mark.parametrize("kinds,shape,bws,coll,size,expected", MULTI_DIM_CHECKS)
def test_multi_dimensional_matches_astrasim(kinds, shape, bws, coll, size, expected):
    """Reduce-scatter and all-gather of an all-reduce queue for the same dimension (one chunk at a time)."""
    topo = Topology.from_lists(kinds, shape, bws, 500.0)
    assert collective_time(topo, coll, size) == pytest.approx(expected, rel=1e-6)


# ASTRA-sim c459ab6, measured for the end-to-end validation (64 and 4 NPUs, 500 ns, 4 chunks,
# local-mem-bw 1600): when a dimension frees up, the chunk-phase that has waited longest takes it
# (FIFO queues), so all reduce-scatters can run before an earlier chunk's all-gather
FIFO_CHECKS = [
    (["Switch", "Switch", "Switch"], [4, 4, 4], [100.0] * 3, ["ring"] * 3, 8 * MIB, 153260),
    (["Ring", "Ring"], [2, 2], [400.0, 400.0], ["ring", "direct"], 8 * MIB, 31548),
]


@pytest.mark.parametrize("kinds,shape,bws,algs,size,expected", FIFO_CHECKS)
def test_dimension_queues_are_first_come_first_served(kinds, shape, bws, algs, size, expected):
    topo = Topology.from_lists(kinds, shape, bws, 500.0)
    assert collective_time(topo, "all_reduce", size, algs) == pytest.approx(expected, rel=1e-9)
    sub = np.array([[(kind_code(k), n, bytes_per_ns(b), 500.0, algorithm_code(a)) for k, n, b, a in zip(kinds, shape, bws, algs)]
                    + [(0, 1, 1.0, 0.0, 0)] * (4 - len(kinds))], dtype=float)
    assert allreduce_batch(sub, np.array([8.0 * MIB]), np.array([4.0]), SystemConfig())[0] == pytest.approx(expected, rel=1e-9)
