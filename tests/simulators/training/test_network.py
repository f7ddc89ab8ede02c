"""Hop counts, network cost and shape helpers."""

import math

import pytest

from archgym.simulators.training.network import Topology, TopologyError, factorizations, hops, parse_shape


def test_hop_counts_follow_astra_network_analytical():
    assert [hops("Ring", 8, d) for d in range(1, 8)] == [1, 2, 3, 4, 3, 2, 1]  # bidirectional: shorter way
    assert {hops("Switch", 8, d) for d in range(1, 8)} == {2}
    assert {hops("FullyConnected", 8, d) for d in range(1, 8)} == {1}


def test_network_cost_is_links_times_bandwidth():
    # 4x4 = 16 NPUs: 4 rings of 4 links at 100 GB/s + 4 fully connected groups of 6 links at 50 GB/s
    topo = Topology.from_lists(["Ring", "FullyConnected"], [4, 4], [100.0, 50.0])
    assert topo.cost() == 4 * 4 * 100 + 4 * 6 * 50
    # a switch dimension: one NPU-to-switch link per NPU
    assert Topology.from_lists(["Switch"], [16], [25.0]).cost() == 16 * 25


@pytest.mark.parametrize("n", [64, 256, 48])
def test_factorizations_multiply_to_n(n):
    shapes = factorizations(n, 3)
    assert shapes and all(math.prod(s) == n and all(x >= 2 for x in s) and len(s) <= 3 for s in shapes)
    assert len(set(shapes)) == len(shapes)
    assert (n,) in shapes


def test_parse_shape():
    assert parse_shape("4x4x16") == (4, 4, 16)
    for bad in ("4x", "axb", "1x64", ""):
        with pytest.raises(TopologyError):
            parse_shape(bad)
