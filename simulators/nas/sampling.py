"""Path samplers of supernet training: which op each edge runs in a training step.

SPOS draws one uniform path per step (:func:`uniform_path`), FairNAS a group of five paths that
together train every op of every edge once (:func:`fair_paths`), GDAS one hard Gumbel-softmax
choice per edge at an annealed temperature (:class:`GumbelSampler`). Kept apart from
:mod:`.supernet` (training, evaluation, checkpoints) so each module stays readable.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch.nn import functional as F

from archgym.simulators.nas.model import EDGES, OP_NAMES, HardChoice

if TYPE_CHECKING:
    from archgym.simulators.nas.data_loaders import ImageDataset
    from archgym.simulators.nas.supernet import SupernetConfig, TrainConfig


def uniform_path(generator: torch.Generator) -> list[int]:
    """One op index per edge, uniformly at random (SPOS' sampler)."""
    return torch.randint(len(OP_NAMES), (len(EDGES),), generator=generator).tolist()


class PathGroup(tuple):
    """Selections trained together on one batch: their gradients are averaged into one update.

    What a ``path`` callable of :func:`fit` returns to train several paths per step (FairNAS);
    a plain selection trains one.
    """


def fair_paths(generator: torch.Generator) -> PathGroup:
    """FairNAS' strict-fairness group: five paths that together use every op of every edge once.

    Each edge draws its own random permutation of the five ops; path ``k`` takes the ``k``-th
    entry of every edge's permutation (Chu et al., ICCV 2021).
    """
    orders = [torch.randperm(len(OP_NAMES), generator=generator).tolist() for _ in EDGES]
    return PathGroup([order[k] for order in orders] for k in range(len(OP_NAMES)))


def gumbel_hard_choices(alpha: torch.Tensor, tau: float, generator: torch.Generator) -> list[HardChoice]:
    """GDAS' sample: one hard op per edge (row of ``alpha``) with straight-through gradients.

    Gumbel noise ``g = -log E`` with ``E ~ Exp(1)`` drawn from ``generator`` (clamped away from
    0, so ``g`` stays finite); soft sample ``p = softmax((log_softmax(α) + g) / τ)``; chosen op
    ``argmax p``; weights ``one_hot - p.detach() + p`` — one-hot in value, with the gradient of
    ``p`` (Dong & Yang, CVPR 2019). Gradients reach ``alpha`` unless it is detached.
    """
    noise = torch.empty(alpha.shape, dtype=alpha.dtype).exponential_(generator=generator).to(alpha.device)
    gumbels = -noise.clamp_min(torch.finfo(alpha.dtype).tiny).log()
    soft = torch.softmax((torch.log_softmax(alpha, dim=1) + gumbels) / tau, dim=1)
    index = soft.argmax(dim=1)
    hard = F.one_hot(index, alpha.shape[1]).to(soft.dtype) - soft.detach() + soft
    return [HardChoice(weights, choice) for weights, choice in zip(hard, index.tolist())]


def gdas_temperature(config: SupernetConfig, epoch: int) -> float:
    """GDAS' temperature in 0-based ``epoch``: linear from ``tau_max`` (first) to ``tau_min`` (last),
    ``τ = τ_max - (τ_max - τ_min) · epoch / (epochs - 1)`` as in GDAS' reference code."""
    if config.epochs == 1:
        return float(config.tau_max)
    return config.tau_max - (config.tau_max - config.tau_min) * min(epoch, config.epochs - 1) / (config.epochs - 1)


def steps_per_epoch(config: TrainConfig, dataset: ImageDataset) -> int:
    """Weight steps in one pass over the train split (the last batch may be smaller)."""
    return math.ceil(len(dataset.train_y) / config.batch_size)


class GumbelSampler:
    """GDAS' per-step edge sampler over one training run, seeded with ``config.seed + 2``.

    Each training step draws two samples from one generator at the current epoch's temperature
    (:func:`gdas_temperature`): :meth:`sample` for the ``α`` step (differentiable in ``alpha``),
    then :meth:`weight_path` for the weight step (``α`` fixed), which also ends the step.
    """

    def __init__(self, config: SupernetConfig, dataset: ImageDataset) -> None:
        self.config = config
        self.steps_per_epoch = steps_per_epoch(config, dataset)
        self.generator = torch.Generator().manual_seed(config.seed + 2)
        self.steps = 0

    @property
    def temperature(self) -> float:
        return gdas_temperature(self.config, self.steps // self.steps_per_epoch)

    def sample(self, alpha: torch.Tensor) -> list[HardChoice]:
        return gumbel_hard_choices(alpha, self.temperature, self.generator)

    def weight_path(self, alpha: torch.Tensor) -> list[HardChoice]:
        choices = self.sample(alpha.detach())
        self.steps += 1
        return choices
