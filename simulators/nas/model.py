"""The NAS-Bench-201 network in torch: its five operations, the cell, the macro skeleton.

One home for the network that the weight-sharing supernet (:mod:`.supernet`), stand-alone
training and the zero-cost proxies (:mod:`.proxies`) all build on, so they cost the same graph.
It follows the NAS-Bench-201 definition (Dong & Yang, ICLR 2020):

* operations: ``none`` (zero), ``skip_connect`` (identity), ``nor_conv_1x1`` and
  ``nor_conv_3x3`` (ReLU → conv → BatchNorm), ``avg_pool_3x3`` (stride 1, padding 1, padding
  excluded from the average);
* a cell has 4 nodes; node ``j`` is the sum over ``i < j`` of ``op_(j,i)(node i)``; the 6 edges in
  arch-string order are (1←0), (2←0), (2←1), (3←0), (3←1), (3←2); node 3 is the output;
* skeleton: 3×3 conv stem + BN, ``N`` cells at ``C`` channels, a residual reduction block
  (stride 2) to ``2C``, ``N`` cells, a reduction to ``4C``, ``N`` cells, BN + ReLU, global
  average pool, linear classifier.

A :class:`Cell` holds a list of *candidate* operations on every edge. A stand-alone network has
one candidate per edge; the supernet has all five. ``forward`` takes a *selection* per edge:
either an integer (evaluate only that candidate — single-path, as SPOS), a weight vector
(the weighted sum of all candidates — DARTS' continuous relaxation; every candidate but ``none``
is computed, so each weight gets its gradient), or a :class:`HardChoice` (a one-hot weight vector
of which only the chosen candidate is computed, every weight still getting a gradient — GDAS).
"""

from __future__ import annotations

import contextlib
import numbers
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch
from torch import nn

from archgym.simulators.nas.nb201 import EDGES, NUM_NODES as NODES, OP_NAMES

__all__ = [
    "EDGES", "OP_NAMES", "Cell", "HardChoice", "NB201Network", "ResNetBasicBlock", "ReLUConvBN", "Zero",
    "count_parameters", "resolve_device", "selection_for", "torch_threads",
]

#: what ``device=`` accepts besides ``"cuda:N"`` and :class:`torch.device`
DEVICES: tuple[str, ...] = ("cpu", "cuda", "auto")

#: per-edge selection: an op index, one weight per candidate op, or a hard one-hot choice
Selection = Sequence["int | torch.Tensor | HardChoice"]


@dataclass(frozen=True)
class HardChoice:
    """A hard one-hot edge choice that computes only candidate ``index`` (GDAS, Dong & Yang, CVPR 2019).

    ``weights`` holds one weight per candidate, one-hot in value but differentiable — GDAS'
    straight-through Gumbel-softmax sample ``one_hot - p.detach() + p``. The edge outputs
    ``weights[index] * op_index(x)`` plus every other weight as a scalar: those add zero, yet
    keep a gradient path from the loss to all weights (hence to all architecture parameters)
    while only one candidate runs, as GDAS' reference code does.
    """

    weights: torch.Tensor
    index: int

    def __post_init__(self) -> None:
        if not isinstance(self.weights, torch.Tensor) or self.weights.ndim != 1:
            raise ValueError(f"HardChoice weights must be a 1-D tensor, got {self.weights!r}")
        if isinstance(self.index, bool) or not isinstance(self.index, int) or not 0 <= self.index < len(self.weights):
            raise ValueError(f"HardChoice index must be an integer in [0, {len(self.weights)}), got {self.index!r}")


class ReLUConvBN(nn.Sequential):
    """ReLU → Conv2d (no bias) → BatchNorm, NAS-Bench-201's ``nor_conv`` block."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, affine: bool, track_running_stats: bool):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )


class Zero(nn.Module):
    """The ``none`` operation: the edge carries nothing (an all-zero tensor of the input's shape)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _build_op(name: str, channels: int, affine: bool, track_running_stats: bool) -> nn.Module:
    builders: dict[str, Callable[[], nn.Module]] = {
        "none": Zero,
        "skip_connect": nn.Identity,
        "nor_conv_1x1": lambda: ReLUConvBN(channels, channels, 1, 1, affine, track_running_stats),
        "nor_conv_3x3": lambda: ReLUConvBN(channels, channels, 3, 1, affine, track_running_stats),
        "avg_pool_3x3": lambda: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    }
    if name not in builders:
        raise ValueError(f"unknown NAS-Bench-201 operation {name!r}; expected one of: {', '.join(OP_NAMES)}")
    return builders[name]()


class Cell(nn.Module):
    """A NAS-Bench-201 cell whose every edge holds ``candidates[e]`` (op names)."""

    def __init__(
        self,
        channels: int,
        candidates: Sequence[Sequence[str]],
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        if len(candidates) != len(EDGES):
            raise ValueError(f"a cell has {len(EDGES)} edges, got candidate lists for {len(candidates)}")
        self.candidates = tuple(tuple(ops) for ops in candidates)
        self.edges = nn.ModuleList(
            nn.ModuleList(_build_op(name, channels, affine, track_running_stats) for name in ops) for ops in self.candidates
        )

    def forward(self, x: torch.Tensor, selection: Selection) -> torch.Tensor:
        nodes = [x]
        edge = 0
        for node in range(1, NODES):
            total: torch.Tensor | int = 0
            for source in range(node):
                total = total + _apply_edge(self.edges[edge], self.candidates[edge], nodes[source], selection[edge])
                edge += 1
            nodes.append(total if isinstance(total, torch.Tensor) else torch.zeros_like(x))
        return nodes[-1]


def _apply_edge(
    ops: nn.ModuleList, names: tuple[str, ...], x: torch.Tensor, choice: "int | torch.Tensor | HardChoice"
) -> "torch.Tensor | int":
    """One edge: a single candidate (index), the weighted sum of all candidates (weights), or a
    :class:`HardChoice` (only its candidate computed; the other weights added as zero-valued scalars)."""
    if isinstance(choice, HardChoice):
        if len(choice.weights) != len(ops):
            raise ValueError(f"edge weights must have shape ({len(ops)},), got {tuple(choice.weights.shape)}")
        others = [weight for i, weight in enumerate(choice.weights) if i != choice.index]
        return choice.weights[choice.index] * ops[choice.index](x) + sum(others)
    if isinstance(choice, numbers.Integral) or (isinstance(choice, torch.Tensor) and choice.ndim == 0 and not choice.is_floating_point()):
        index = int(choice)
        return 0 if names[index] == "none" else ops[index](x)
    weights = choice
    if weights.shape != (len(ops),):
        raise ValueError(f"edge weights must have shape ({len(ops)},), got {tuple(weights.shape)}")
    total: torch.Tensor | int = 0
    for weight, op, name in zip(weights, ops, names):
        if name == "none":  # contributes weight * 0; the weight still gets its gradient via the softmax
            continue
        total = total + weight * op(x)
    return total


class ResNetBasicBlock(nn.Module):
    """NAS-Bench-201's fixed reduction block: two ReLU-conv-BN 3×3 convs with a pooled shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, affine, track_running_stats)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, affine, track_running_stats)
        if stride == 2:
            self.shortcut: nn.Module = nn.Sequential(
                nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
            )
        elif c_in != c_out:
            self.shortcut = ReLUConvBN(c_in, c_out, 1, 1, affine, track_running_stats)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NAS-Bench-201 macro skeleton around cells that share one ``candidates`` layout.

    Build a stand-alone network with :meth:`for_arch` (one op per edge) or the weight-sharing
    supernet with :meth:`supernet` (all five ops per edge). ``forward(x, selection)`` applies the
    same per-edge selection in every cell (NAS-Bench-201 cells are shared across the network).
    """

    def __init__(
        self,
        candidates: Sequence[Sequence[str]],
        channels: int = 16,
        cells_per_stage: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (("channels", channels), ("cells_per_stage", cells_per_stage), ("num_classes", num_classes), ("in_channels", in_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.candidates = tuple(tuple(ops) for ops in candidates)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels, affine=affine, track_running_stats=track_running_stats),
        )
        blocks: list[nn.Module] = []
        width = channels
        for stage in range(3):
            if stage > 0:
                blocks.append(ResNetBasicBlock(width, width * 2, 2, affine, track_running_stats))
                width *= 2
            blocks.extend(Cell(width, self.candidates, affine, track_running_stats) for _ in range(cells_per_stage))
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Sequential(
            nn.BatchNorm2d(width, affine=affine, track_running_stats=track_running_stats),
            nn.ReLU(inplace=False),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(width, num_classes)

    @classmethod
    def for_arch(cls, ops: Sequence[str], **kwargs) -> "NB201Network":
        """A stand-alone network for one cell, ``ops`` = the 6 edge ops in arch-string order."""
        ops = tuple(ops)
        if len(ops) != len(EDGES):
            raise ValueError(f"a NAS-Bench-201 cell has {len(EDGES)} edge ops, got {len(ops)}: {ops}")
        for name in ops:
            if name not in OP_NAMES:
                raise ValueError(f"unknown NAS-Bench-201 operation {name!r}; expected one of: {', '.join(OP_NAMES)}")
        return cls([(name,) for name in ops], **kwargs)

    @classmethod
    def supernet(cls, **kwargs) -> "NB201Network":
        """The weight-sharing supernet: every edge holds all five operations."""
        return cls([OP_NAMES] * len(EDGES), **kwargs)

    @property
    def is_supernet(self) -> bool:
        return any(len(ops) > 1 for ops in self.candidates)

    def features(self, x: torch.Tensor, selection: Selection | None = None) -> torch.Tensor:
        """The pooled features before the classifier."""
        if selection is None:
            if self.is_supernet:
                raise ValueError("a supernet needs a selection per edge (op indices or weights)")
            selection = [0] * len(EDGES)
        if len(selection) != len(EDGES):
            raise ValueError(f"selection must have one entry per edge ({len(EDGES)}), got {len(selection)}")
        out = self.stem(x)
        for block in self.blocks:
            out = block(out, selection) if isinstance(block, Cell) else block(out)
        return self.head(out)

    def forward(self, x: torch.Tensor, selection: Selection | None = None) -> torch.Tensor:
        return self.classifier(self.features(x, selection))


def selection_for(ops: Sequence[str]) -> list[int]:
    """Supernet op indices for a cell given as its 6 op names."""
    try:
        return [OP_NAMES.index(name) for name in ops]
    except ValueError:
        bad = next(name for name in ops if name not in OP_NAMES)
        raise ValueError(f"unknown NAS-Bench-201 operation {bad!r}; expected one of: {', '.join(OP_NAMES)}") from None


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def resolve_device(device: "str | torch.device | None" = "cpu") -> torch.device:
    """The torch device for ``device``: ``"cpu"`` (default; ``None`` too), ``"cuda"`` or
    ``"cuda:N"`` (an available CUDA GPU), or ``"auto"`` (CUDA when present, else the CPU).

    Raises ``ValueError`` naming the value for anything else, and for a CUDA device this torch
    build or machine cannot use (no CUDA, or no GPU of that index), instead of failing later
    inside a forward pass.
    """
    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        resolved = None
    if resolved is None or resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; expected one of: {', '.join(DEVICES)}, or 'cuda:N'")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} needs CUDA, which this machine or torch build ({torch.__version__}) does not "
                "have; use device='cpu' (or 'auto' to take CUDA only when present)"
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(f"device {device!r}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})")
    return resolved


@contextlib.contextmanager
def torch_threads(num_threads: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(num_threads)``, restoring the previous setting.

    Small networks on these 2-core machines run fastest on one thread; training, scoring and
    evaluation take ``num_threads`` (default 1) and leave the caller's setting as it was.
    """
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(f"num_threads must be a positive integer, got {num_threads!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
