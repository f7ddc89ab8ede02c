"""The NAS-Bench-201 network's layer table, parameters and FLOPs against the benchmark's figures."""

import pytest

from archgym.simulators.accelerator import Layer, Workload
from archgym.simulators.nas.layers import (DATASET_SHAPES, NetworkLayer, Skeleton, count_flops, count_params,
                                           network_layers, network_workload, skeleton_for)
from archgym.simulators.nas.nb201 import RESNET_ARCH, all_archs, parse_arch

CONV3 = ("nor_conv_3x3",) * 6
EMPTY = ("none",) * 6

#: NAS-Bench-201's own params (M) and FLOPs (M) (its ``get_cost_info``; v1_1 data): dataset -> (min, max)
PUBLISHED = {
    "cifar10": ((0.073306, 7.78305), (1.531546, 220.11969)),
    "cifar100": ((0.079156, 7.7889), (1.537396, 220.12554)),
    "ImageNet16-120": ((0.080456, 1.9534), (1.538696, 55.03756)),
}


@pytest.mark.parametrize("dataset", list(DATASET_SHAPES))
def test_extremes_match_the_published_figures(dataset):
    skeleton = skeleton_for(dataset)
    params = [count_params(ops, skeleton) for ops in (EMPTY, CONV3)]
    flops = [count_flops(ops, skeleton) for ops in (EMPTY, CONV3)]
    (small_p, small_f), (big_p, big_f) = PUBLISHED[dataset]
    assert params == [round(small_p * 1e6), round(big_p * 1e6)]
    assert flops == [round(small_f * 1e6), round(big_f * 1e6)]


def test_single_cells_match_the_published_figures():
    # NATS-Bench issues #24 and #36: benchmark index 0 (15.64737 MFLOPs) and an hp=12 cost query
    index0 = parse_arch(
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")
    assert count_flops(index0) == 15_647_370
    other = parse_arch("|skip_connect~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    assert (count_params(other), count_flops(other)) == (802_426, 113_951_370)


def test_parameter_count_by_hand():
    """Stem (3*16*9 + BN 32), 15 cells with 2 conv3x3 each (9C^2 + 2C), two reduction blocks,
    head BN (128) and classifier (64*10 + 10)."""
    cells = sum(5 * 2 * (9 * c * c + 2 * c) for c in (16, 32, 64))
    reductions = sum(9 * a * b + 2 * b + 9 * b * b + 2 * b + a * b for a, b in ((16, 32), (32, 64)))
    assert count_params(RESNET_ARCH) == 3 * 16 * 9 + 32 + cells + reductions + 128 + 650


def test_layer_table_shape():
    table = network_layers(CONV3)
    names = [entry.layer.name for entry in table]
    assert names == ["stem", "stage0.nor_conv_3x3", "reduce1.conv_a", "reduce1.conv_b", "reduce1.shortcut",
                     "stage1.nor_conv_3x3", "reduce2.conv_a", "reduce2.conv_b", "reduce2.shortcut",
                     "stage2.nor_conv_3x3", "classifier"]
    cells = {e.layer.name: e.layer for e in table}
    assert cells["stage0.nor_conv_3x3"].repeat == 30 and cells["stage2.nor_conv_3x3"].OY == 8
    assert (cells["reduce1.conv_a"].stride, cells["reduce1.conv_a"].OY) == (2, 16)
    assert cells["classifier"].type == "gemm" and cells["classifier"].K == 10
    assert all(isinstance(e, NetworkLayer) and isinstance(e.layer, Layer) for e in table)
    # pooling and skips cost nothing: only the conv counts matter
    assert network_layers(parse_arch("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|none~2|")) == \
        network_layers(EMPTY)


def test_workload_macs_equal_flops_minus_the_classifier_bias():
    for dataset in DATASET_SHAPES:
        skeleton = skeleton_for(dataset)
        for ops in (EMPTY, CONV3, RESNET_ARCH):
            workload = network_workload(ops, skeleton)
            assert isinstance(workload, Workload)
            assert workload.total_macs == count_flops(ops, skeleton) - skeleton.num_classes


def test_workloads_are_shared_by_cells_with_the_same_table():
    workloads = {network_workload(ops) for ops in all_archs()}
    assert len(workloads) == 28  # (n_conv1x1, n_conv3x3) with n1 + n3 <= 6
    assert network_workload(CONV3) is network_workload(CONV3)
    assert network_workload(CONV3).key != network_workload(CONV3, skeleton_for("cifar100")).key


def test_bad_skeletons_and_datasets():
    with pytest.raises(ValueError, match="Skeleton.channels must be a positive integer, got 0"):
        Skeleton(channels=0)
    with pytest.raises(ValueError, match="unknown NAS-Bench-201 dataset 'mnist'; expected one of cifar10"):
        skeleton_for("mnist")
    assert count_params(CONV3, Skeleton(channels=8, cells_per_stage=1)) < count_params(CONV3)
