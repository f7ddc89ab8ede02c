"""A NAS-Bench-201 network as a layer table: the accelerator's workload, its parameters and FLOPs.

The NAS-Bench-201 macro skeleton (Dong & Yang, ICLR 2020; :class:`Skeleton`) for input
``H x H`` and channels ``C``::

    stem      3x3 conv 3 -> C, BN
    stage 0   N cells at C channels,  H x H
    reduce 1  ResNet basic block C -> 2C, stride 2: ReLU-3x3 conv(s2)-BN, ReLU-3x3 conv-BN;
              shortcut 2x2 avg-pool + 1x1 conv (no BN)
    stage 1   N cells at 2C,  H/2 x H/2
    reduce 2  the same, 2C -> 4C
    stage 2   N cells at 4C,  H/4 x H/4
    head      BN + ReLU, global average pool, linear 4C -> classes (with bias)

Inside a cell every ``nor_conv_kxk`` edge is ReLU -> k x k conv (C -> C, 'same' padding, no bias)
-> BN; ``none``, ``skip_connect`` and ``avg_pool_3x3`` have no weights.

:func:`network_layers` expands a cell into :class:`~archgym.simulators.accelerator.layers.Layer`
rows (identical convolutions merged with ``repeat``), the one table from which

* :func:`count_params` counts weights: convolutions, the affine BatchNorms (2 per channel) and
  the classifier with its bias — NAS-Bench-201's ``params``;
* :func:`count_flops` counts NAS-Bench-201's ``flops``: multiply-accumulates of the
  convolutions and the classifier plus the classifier's bias additions; pooling, BatchNorm,
  ReLU and the cell sums are not counted (the benchmark's counter skips them);
* :func:`network_workload` gives the accelerator back-ends their workload: every conv and the
  classifier (BN folded into the conv, ReLU fused; pooling and element-wise sums run outside
  the MAC array and are not costed).

Every non-``none`` edge runs, as in the benchmark's network: its parameter and FLOP counts
include operations whose input is always zero. Checked against the benchmark's published
figures (CIFAR-10: 0.073306 M params and 7.78305 MFLOPs for the smallest cells, 1.531546 M and
220.11969 MFLOPs for all-``nor_conv_3x3``; ImageNet16-120: 55.03756 MFLOPs) in the tests.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

from archgym.simulators.accelerator.layers import Layer, Workload

from .nb201 import check_arch

__all__ = [
    "DATASET_SHAPES",
    "Skeleton",
    "NetworkLayer",
    "skeleton_for",
    "network_layers",
    "count_params",
    "count_flops",
    "network_workload",
]

#: NAS-Bench-201's datasets: (input height = width, number of classes)
DATASET_SHAPES: dict[str, tuple[int, int]] = {"cifar10": (32, 10), "cifar100": (32, 100), "ImageNet16-120": (16, 120)}


@dataclass(frozen=True)
class Skeleton:
    """The macro skeleton's sizes (NAS-Bench-201: ``C = 16``, ``N = 5``)."""

    input_size: int = 32
    num_classes: int = 10
    channels: int = 16
    cells_per_stage: int = 5
    in_channels: int = 3

    def __post_init__(self) -> None:
        for name in ("input_size", "num_classes", "channels", "cells_per_stage", "in_channels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Skeleton.{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class NetworkLayer:
    """A layer of the table and what besides its weights it holds: an affine BatchNorm after it
    (``2 x out_channels`` parameters) and/or a bias (``out_channels`` parameters and additions)."""

    layer: Layer
    batch_norm: bool = False
    bias: bool = False

    @property
    def out_channels(self) -> int:
        return self.layer.G * self.layer.K

    @property
    def params(self) -> int:
        """Parameters of all ``repeat`` instances."""
        extra = (2 if self.batch_norm else 0) + (1 if self.bias else 0)
        return (self.layer.weight_elements + extra * self.out_channels) * self.layer.repeat

    @property
    def flops(self) -> int:
        """NAS-Bench-201 FLOPs of all instances: MACs plus one addition per output for a bias."""
        bias = self.layer.output_elements if self.bias else 0
        return (self.layer.macs + bias) * self.layer.repeat


def skeleton_for(dataset: str) -> Skeleton:
    """NAS-Bench-201's skeleton for ``dataset`` (:data:`DATASET_SHAPES`)."""
    try:
        size, classes = DATASET_SHAPES[dataset]
    except (KeyError, TypeError):
        raise ValueError(f"unknown NAS-Bench-201 dataset {dataset!r}; expected one of "
                         f"{', '.join(DATASET_SHAPES)}") from None
    return Skeleton(input_size=size, num_classes=classes)


def network_layers(ops: Sequence[str], skeleton: Skeleton = Skeleton()) -> tuple[NetworkLayer, ...]:
    """The layer table of the network built from cell ``ops`` (module doc)."""
    ops = check_arch(ops)
    return _layers(ops.count("nor_conv_1x1"), ops.count("nor_conv_3x3"), skeleton)


@functools.lru_cache(maxsize=1024)
def _layers(n_conv1: int, n_conv3: int, skeleton: Skeleton) -> tuple[NetworkLayer, ...]:
    c, size, n = skeleton.channels, skeleton.input_size, skeleton.cells_per_stage
    table = [NetworkLayer(Layer.conv("stem", size, size, 3, 3, skeleton.in_channels, c), batch_norm=True)]
    for stage in range(3):
        if stage:
            c_in, c = c, 2 * c
            out = -(-size // 2)
            table += [
                NetworkLayer(Layer.conv(f"reduce{stage}.conv_a", size, size, 3, 3, c_in, c, stride=2), batch_norm=True),
                NetworkLayer(Layer.conv(f"reduce{stage}.conv_b", out, out, 3, 3, c, c), batch_norm=True),
                NetworkLayer(Layer.conv(f"reduce{stage}.shortcut", out, out, 1, 1, c_in, c)),
            ]
            size = out
        for kernel, count in ((1, n_conv1), (3, n_conv3)):
            if count:
                layer = Layer.conv(f"stage{stage}.nor_conv_{kernel}x{kernel}", size, size, kernel, kernel, c, c,
                                   repeat=count * n)
                table.append(NetworkLayer(layer, batch_norm=True))
    table.append(NetworkLayer(Layer.gemm("classifier", 1, skeleton.num_classes, c), bias=True))
    return tuple(table)


def count_params(ops: Sequence[str], skeleton: Skeleton = Skeleton()) -> int:
    """Parameters of the network: every layer's (:attr:`NetworkLayer.params`) plus the head's BatchNorm."""
    head_bn = 2 * skeleton.channels * 4
    return sum(entry.params for entry in network_layers(ops, skeleton)) + head_bn


def count_flops(ops: Sequence[str], skeleton: Skeleton = Skeleton()) -> int:
    """NAS-Bench-201 FLOPs of one inference (batch 1): conv and classifier MACs plus its bias."""
    return sum(entry.flops for entry in network_layers(ops, skeleton))


def network_workload(ops: Sequence[str], skeleton: Skeleton = Skeleton()) -> Workload:
    """The accelerator workload of the network (one per distinct layer table, cached)."""
    ops = check_arch(ops)
    return _workload(ops.count("nor_conv_1x1"), ops.count("nor_conv_3x3"), skeleton)


@functools.lru_cache(maxsize=1024)
def _workload(n_conv1: int, n_conv3: int, skeleton: Skeleton) -> Workload:
    name = (f"nb201-{skeleton.input_size}px-{skeleton.num_classes}cls-C{skeleton.channels}N{skeleton.cells_per_stage}"
            f"-{n_conv1}x1x1-{n_conv3}x3x3")
    return Workload.from_layers(name, (entry.layer for entry in _layers(n_conv1, n_conv3, skeleton)))
