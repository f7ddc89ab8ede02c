"""The NAS-Bench-201 cell space: arch strings, indices, designs, isomorphism."""

import pytest

from archgym.simulators.nas.nb201 import (EDGE_NAMES, NUM_ARCHS, OP_NAMES, RESNET_ARCH, ArchError, all_archs,
                                          arch_from_index, arch_index, arch_to_design, canonical_key, count_classes,
                                          design_to_arch, format_arch, is_connected, nb201_unique_str, op_counts,
                                          parse_arch)

RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


def test_arch_string_round_trips_for_every_cell():
    seen = set()
    for index, ops in enumerate(all_archs()):
        text = format_arch(ops)
        assert parse_arch(text) == ops
        assert arch_index(ops) == index and arch_from_index(index) == ops
        assert design_to_arch(arch_to_design(ops)) == ops
        seen.add(text)
    assert len(seen) == NUM_ARCHS == 5**6


def test_edge_order_follows_the_arch_string():
    ops = parse_arch("|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
    assert arch_to_design(ops) == {
        "edge_1_0": "nor_conv_1x1", "edge_2_0": "nor_conv_3x3", "edge_2_1": "avg_pool_3x3",
        "edge_3_0": "skip_connect", "edge_3_1": "none", "edge_3_2": "nor_conv_1x1",
    }
    assert parse_arch(RESNET) == RESNET_ARCH
    assert arch_index(("none",) * 6) == 0 and arch_index(("avg_pool_3x3",) * 6) == NUM_ARCHS - 1
    assert arch_index(("skip_connect",) + ("none",) * 5) == 5**5  # edge 1<-0 is the most significant digit


@pytest.mark.parametrize("text, message", [
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown operation 'conv' on edge_1_0"),
    ("|none~0|+|none~0|none~1|", "2 node groups"),
    ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "inputs ~0..~1 in order"),
    ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "malformed"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|none~3|", "inputs ~0..~2"),
])
def test_bad_arch_strings_are_named(text, message):
    with pytest.raises(ArchError, match=message):
        parse_arch(text)


def test_bad_ops_indices_and_designs_are_named():
    with pytest.raises(ArchError, match="6 edges, got 5"):
        format_arch(("none",) * 5)
    with pytest.raises(ArchError, match="out of range"):
        arch_from_index(NUM_ARCHS)
    with pytest.raises(ArchError, match="must be an integer"):
        arch_from_index("7")
    with pytest.raises(ArchError, match="edge_3_2"):
        design_to_arch({name: "none" for name in EDGE_NAMES[:-1]})
    with pytest.raises(ArchError, match="use parse_arch"):
        arch_index(RESNET)
    assert issubclass(ArchError, ValueError)


def test_isomorphic_cells_share_a_key():
    resnet = canonical_key(RESNET_ARCH)
    assert resnet == "nor_conv_3x3(nor_conv_3x3(x))+x"
    # a conv chain is the same function whichever intermediate node it passes through
    via_node_2 = parse_arch("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|")
    via_node_1 = parse_arch("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    assert canonical_key(via_node_2) == canonical_key(via_node_1) == "nor_conv_3x3(nor_conv_3x3(x))"
    # an edge whose source is always zero drops out: node 1 is zero here, so edge 2<-1 is dead
    dead = parse_arch("|none~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    alive = parse_arch("|none~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|skip_connect~2|")
    assert canonical_key(dead) == canonical_key(alive) == "nor_conv_1x1(x)"
    # the order of a sum does not matter, its multiplicity does
    a = parse_arch("|nor_conv_1x1~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    b = parse_arch("|avg_pool_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    assert canonical_key(a) == canonical_key(b)
    doubled = parse_arch("|skip_connect~0|+|skip_connect~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")
    single = parse_arch("|skip_connect~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|")
    assert canonical_key(doubled) == "x+x" != canonical_key(single) == "x"
    assert canonical_key(RESNET_ARCH) != canonical_key(a)


def test_disconnected_cells():
    cut = parse_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|")
    assert not is_connected(cut) and canonical_key(cut) == "0"
    assert not is_connected(("none",) * 6) and is_connected(RESNET_ARCH)


def test_class_counts():
    """Our key merges x + 0 with x; NAS-Bench-201's to_unique_str keeps the zero summand and
    reproduces the paper's 6,466 unique topologies."""
    assert count_classes(all_archs(), nb201_unique_str) == 6466
    assert count_classes(all_archs()) == 4930
    assert sum(not is_connected(ops) for ops in all_archs()) == 341  # output independent of the input
    # canonical classes refine nothing NAS-Bench-201 merges: every NB201 class maps to one key
    by_unique: dict[str, set[str]] = {}
    for ops in all_archs():
        by_unique.setdefault(nb201_unique_str(ops), set()).add(canonical_key(ops))
    assert all(len(keys) == 1 for keys in by_unique.values())


def test_op_counts():
    assert op_counts(RESNET_ARCH) == {"none": 2, "skip_connect": 2, "nor_conv_1x1": 0, "nor_conv_3x3": 2,
                                      "avg_pool_3x3": 0}
    assert tuple(OP_NAMES) == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
