"""A weight-sharing NAS-Bench-201 supernet trained on the CPU: SPOS, first-order DARTS or GDAS.

Training modes (``SupernetConfig.mode``):

* ``"spos"`` — Single Path One-Shot (Guo et al., ECCV 2020): every step trains one uniformly
  sampled path (one op per edge, shared by all cells) on a train batch. With
  ``sampling="fair"`` it follows FairNAS' strict fairness instead (Chu et al., ICCV 2021): every
  step trains five paths on the same batch — for each edge a fresh random permutation of its five
  ops, path ``k`` taking the ``k``-th op of every edge's permutation — so each op of every edge is
  trained exactly once per step; the five gradients are averaged before the one update
  (:func:`fair_paths`, :class:`PathGroup`). Every op then gets the same number of updates, which
  uniform sampling only gives on average.
* ``"darts"`` — DARTS' continuous relaxation, first-order (Liu et al., ICLR 2019): architecture
  parameters ``α`` (6 edges × 5 ops); every edge computes the ``softmax(α)``-weighted sum of its
  ops. Bilevel alternation per step: one Adam step on ``α`` against a *validation* batch, then
  one SGD step on the weights against a *train* batch (the first-order approximation ignores
  ``∂w*/∂α``).
* ``"gdas"`` — GDAS (Dong & Yang, CVPR 2019, "Searching for A Robust Neural Architecture in Four
  GPU Hours"): the same ``α`` and the same alternation, but every forward pass samples one op
  per edge by Gumbel-softmax over ``log_softmax(α)`` at temperature ``τ`` (annealed linearly per
  epoch from ``tau_max`` to ``tau_min``, 10 → 0.1 as in the paper) and computes only that op; a
  straight-through estimator (:class:`~archgym.simulators.nas.model.HardChoice`) carries the
  gradient to every ``α``.

A sub-architecture is then evaluated with the weights it inherits from the supernet
(:meth:`Supernet.evaluate`) on the validation split, optionally after re-estimating the
BatchNorm statistics for that path on a few train batches (running statistics gathered over
many paths fit no single one; Guo et al. recalibrate for this reason). For DARTS and GDAS,
:meth:`Supernet.select_argmax` is the usual ``argmax α`` per edge, and
:meth:`Supernet.select_perturbation` is the perturbation-based selection of Wang et al., ICLR 2021
("Rethinking Architecture Selection in Differentiable NAS").

Everything runs on the CPU by default; ``device="cuda"`` (or ``"auto"``) trains and evaluates on
a GPU with the same seeded data order and paths (:func:`~.model.resolve_device` rejects a device
the machine lacks). Training is seeded (same config, data and seed give bit-identical weights on
the same torch build and device) and cached on disk by :func:`load_or_train_supernet`, keyed by
a hash of the config (seed included), the data fingerprint, :data:`SUPERNET_VERSION` and the
torch version.
Checkpoints are plain state dicts read with ``torch.load(weights_only=True)`` (no code runs on
load); their metadata and every tensor's name and shape are checked before anything is loaded
into a fresh network, so a corrupt or mismatched file is retrained (with a warning) or rejected,
never half-loaded.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from archgym.simulators.nas import layers, nb201
from archgym.simulators.nas.data_loaders import ImageDataset
from archgym.simulators.nas.model import (
    EDGES,
    OP_NAMES,
    HardChoice,
    NB201Network,
    Selection,
    count_parameters,
    resolve_device,
    selection_for,
    torch_threads,
)
from archgym.simulators.nas.sampling import GumbelSampler, PathGroup, fair_paths, steps_per_epoch, uniform_path

#: bump whenever training or evaluation could give different results; keys the checkpoint cache
SUPERNET_VERSION = "1"
#: layout of the checkpoint file (independent of the training code)
CHECKPOINT_FORMAT = 1
#: training modes with architecture parameters α, trained by DARTS' bilevel alternation
DIFFERENTIABLE_MODES: tuple[str, ...] = ("darts", "gdas")
#: supernet training modes
MODES: tuple[str, ...] = ("spos", *DIFFERENTIABLE_MODES)
#: how SPOS samples its paths: one uniform path per step, or FairNAS' five fair paths per step
SAMPLINGS: tuple[str, ...] = ("uniform", "fair")
#: the images :meth:`Supernet.evaluate` scores a cell on: the validation split, or train and validation together
EVAL_SPLITS: tuple[str, ...] = ("valid", "all")
#: what to do with an unreadable or mismatched checkpoint
ON_BAD_CHECKPOINT: tuple[str, ...] = ("retrain", "error")


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used: unreadable, or made for another config/data/code."""


# -- configuration -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainConfig:
    """Network size and weight-training hyperparameters (shared by supernet and stand-alone training).

    SGD with Nesterov momentum and a cosine learning-rate schedule over all steps, as
    NAS-Bench-201 trains its networks; gradients are clipped to ``grad_clip`` (L2 norm).
    """

    channels: int = 8
    cells_per_stage: int = 1
    epochs: int = 20
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    grad_clip: float = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("channels", "cells_per_stage", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("lr", "grad_clip"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in ("momentum", "weight_decay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")


@dataclass(frozen=True)
class SupernetConfig(TrainConfig):
    """:class:`TrainConfig` plus the search mode, SPOS' path sampling, the architecture optimiser
    and GDAS' temperature.

    ``sampling`` (SPOS only): ``"uniform"`` (one path per step) or ``"fair"`` (FairNAS: five
    paths per step covering every op of every edge once; five forward/backward passes per step).

    ``arch_lr`` defaults to 3e-3, ten times NAS-Bench-201's DARTS setting (3e-4), because the
    CPU budget here is hundreds of steps rather than tens of thousands; Adam with betas
    (0.5, 0.999) and ``arch_weight_decay`` as DARTS (GDAS uses the same optimiser). GDAS'
    Gumbel-softmax temperature falls linearly from ``tau_max`` in the first epoch to ``tau_min``
    in the last (:func:`.sampling.gdas_temperature`; the paper's 10 → 0.1).
    """

    mode: str = "spos"
    arch_lr: float = 3e-3
    arch_weight_decay: float = 1e-3
    tau_max: float = 10.0
    tau_min: float = 0.1
    sampling: str = "uniform"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in MODES:
            raise ValueError(f"unknown supernet mode {self.mode!r}; expected one of: {', '.join(MODES)}")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"unknown path sampling {self.sampling!r}; expected one of: {', '.join(SAMPLINGS)}")
        if self.sampling != "uniform" and self.mode != "spos":
            raise ValueError(f"sampling={self.sampling!r} applies to mode 'spos' only, not {self.mode!r}")
        for name in ("arch_lr", "tau_max", "tau_min"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.tau_min > self.tau_max:
            raise ValueError(f"tau_min ({self.tau_min!r}) must not exceed tau_max ({self.tau_max!r})")


def build_network(config: TrainConfig, dataset: ImageDataset, ops: Sequence[str] | None = None) -> NB201Network:
    """The supernet (``ops=None``) or the stand-alone network of cell ``ops``, sized for ``dataset``."""
    kwargs = dict(
        channels=config.channels,
        cells_per_stage=config.cells_per_stage,
        num_classes=dataset.num_classes,
        in_channels=dataset.input_shape[0],
    )
    return NB201Network.supernet(**kwargs) if ops is None else NB201Network.for_arch(ops, **kwargs)


def skeleton(config: TrainConfig, dataset: ImageDataset) -> layers.Skeleton:
    """The layer-table skeleton of :func:`build_network`'s networks (for FLOPs, :mod:`.layers`)."""
    channels, height, width = dataset.input_shape
    if height != width:
        raise ValueError(f"FLOPs are counted for square inputs; dataset {dataset.name!r} has {height}x{width} images")
    return layers.Skeleton(
        input_size=height, num_classes=dataset.num_classes, channels=config.channels,
        cells_per_stage=config.cells_per_stage, in_channels=channels,
    )


def cell_cost(ops: Sequence[str], config: TrainConfig, dataset: ImageDataset) -> dict[str, float]:
    """``params`` (trainable parameters) and ``flops`` (NAS-Bench-201's FLOPs per image,
    :func:`.layers.count_flops`) of the stand-alone network of cell ``ops``."""
    params = count_parameters(build_network(config, dataset, ops))
    return {"params": float(params), "flops": float(layers.count_flops(ops, skeleton(config, dataset)))}


# -- small torch helpers -------------------------------------------------------------------------
@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator for the block without disturbing the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Index batches of one shuffled pass over ``n`` samples (the last one may be smaller)."""
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def _endless_batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    while True:
        yield from _batches(n, batch_size, generator)


# -- weight training -------------------------------------------------------------------------------
@dataclass
class TrainingHistory:
    """Per-epoch mean train loss and accuracy, and the number of weight steps taken."""

    loss: list[float] = dataclasses.field(default_factory=list)
    accuracy: list[float] = dataclasses.field(default_factory=list)
    steps: int = 0


def fit(
    network: nn.Module,
    dataset: ImageDataset,
    config: TrainConfig,
    path: Callable[[], Selection],
    *,
    arch_step: Callable[[torch.Tensor, torch.Tensor], None] | None = None,
    epochs: int | None = None,
    seed_offset: int = 0,
    progress: bool = False,
    description: str = "training",
) -> TrainingHistory:
    """Train ``network``'s weights on the train split: one SGD step per batch on selection ``path()``.

    A :class:`PathGroup` from ``path()`` trains each of its selections on the batch and averages
    their gradients before the step (FairNAS); the history then counts every selection's predictions.

    ``arch_step(x, y)``, when given, runs before each weight step on the next validation batch
    (DARTS' alternation). Data order is drawn from a generator seeded with
    ``config.seed + seed_offset`` (on the CPU, so every device sees the same batches); batches
    move to the device ``network`` lives on.
    """
    from tqdm.auto import tqdm

    epochs = config.epochs if epochs is None else epochs
    device = _device_of(network)
    generator = torch.Generator().manual_seed(config.seed + seed_offset)
    valid_batches = _endless_batches(len(dataset.valid_y), config.batch_size, generator) if arch_step else None
    optimiser = torch.optim.SGD(
        network.parameters(), lr=config.lr, momentum=config.momentum, nesterov=config.momentum > 0,
        weight_decay=config.weight_decay,
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=max(1, epochs * steps_per_epoch(config, dataset))
    )
    history = TrainingHistory()
    network.train()
    bar = tqdm(range(epochs), desc=description, unit="epoch", disable=not progress, leave=False)
    for _ in bar:
        total_loss, correct, seen = 0.0, 0, 0
        for index in _batches(len(dataset.train_y), config.batch_size, generator):
            if arch_step is not None:
                valid_index = next(valid_batches)
                arch_step(dataset.valid_x[valid_index].to(device), dataset.valid_y[valid_index].to(device))
            x, y = dataset.train_x[index].to(device), dataset.train_y[index].to(device)
            selection = path()
            group = selection if isinstance(selection, PathGroup) else (selection,)
            optimiser.zero_grad(set_to_none=True)
            for member in group:
                logits = network(x, member)
                loss = F.cross_entropy(logits, y)
                (loss / len(group)).backward()
                total_loss += loss.item() * len(y)
                correct += int((logits.argmax(1) == y).sum())
                seen += len(y)
            nn.utils.clip_grad_norm_(network.parameters(), config.grad_clip)
            optimiser.step()
            schedule.step()
            history.steps += 1
        history.loss.append(total_loss / seen)
        history.accuracy.append(correct / seen)
        bar.set_postfix(loss=f"{history.loss[-1]:.3f}", acc=f"{history.accuracy[-1]:.3f}")
    network.eval()
    return history


def train_standalone(
    ops: Sequence[str],
    dataset: ImageDataset,
    config: TrainConfig,
    *,
    num_threads: int = 1,
    progress: bool = False,
    device: str | torch.device | None = "cpu",
) -> dict[str, float]:
    """Train the stand-alone network of cell ``ops`` from scratch; its validation metrics.

    The ground truth a supernet's estimates are judged against (``benchmarks/supernet_ranking.py``).
    ``device``: where to train (:func:`~.model.resolve_device`).
    """
    device = resolve_device(device)
    with torch_threads(num_threads):
        with _seeded(config.seed):
            network = build_network(config, dataset, ops).to(device)
        fit(network, dataset, config, lambda: [0] * len(EDGES), progress=progress, description="stand-alone")
        accuracy, loss = evaluate_network(network, [0] * len(EDGES), dataset.valid_x, dataset.valid_y)
    return {"accuracy": accuracy, "loss": loss, **cell_cost(ops, config, dataset)}


# -- evaluation helpers ----------------------------------------------------------------------------
@torch.no_grad()
def evaluate_network(
    network: nn.Module, selection: Selection, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 512
) -> tuple[float, float]:
    """``(accuracy, mean cross-entropy)`` of ``network`` under ``selection`` in eval mode."""
    network.eval()
    device = _device_of(network)
    correct, total_loss = 0, 0.0
    for start in range(0, len(labels), batch_size):
        x, y = images[start : start + batch_size].to(device), labels[start : start + batch_size].to(device)
        logits = network(x, selection)
        total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
    return correct / len(labels), total_loss / len(labels)


def _device_of(network: nn.Module) -> torch.device:
    """The device ``network``'s parameters live on."""
    return next(network.parameters()).device


def _batchnorms(network: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@contextlib.contextmanager
def preserved_batchnorm(network: nn.Module) -> Iterator[None]:
    """Restore every BatchNorm's running statistics and momentum when the block ends."""
    saved = [(m, m.momentum, {k: v.clone() for k, v in m.state_dict().items()}) for m in _batchnorms(network)]
    try:
        yield
    finally:
        for module, momentum, state in saved:
            module.load_state_dict(state)
            module.momentum = momentum


@torch.no_grad()
def recalibrate_batchnorm(
    network: nn.Module, selection: Selection, images: torch.Tensor, batches: int, batch_size: int, seed: int = 0
) -> None:
    """Re-estimate BatchNorm running statistics for ``selection`` from ``batches`` random batches.

    Statistics are reset and accumulated as a plain average over the batches (``momentum=None``)
    — the recalibration of Guo et al. (SPOS). Call inside :func:`preserved_batchnorm` to keep the
    supernet's own statistics.
    """
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 0:
        raise ValueError(f"BatchNorm recalibration batches must be a non-negative integer, got {batches!r}")
    if batches == 0:
        return
    modules = _batchnorms(network)
    for module in modules:
        module.reset_running_stats()
        module.momentum = None
    network.train()
    device = _device_of(network)
    generator = torch.Generator().manual_seed(seed)
    for _, index in zip(range(batches), _endless_batches(len(images), batch_size, generator)):
        network(images[index].to(device), selection)
    network.eval()


# -- the trained supernet ----------------------------------------------------------------------------
class Supernet:
    """A trained weight-sharing supernet and the data it was trained on.

    Made by :func:`train_supernet` or :func:`load_or_train_supernet`. ``alpha`` holds the
    architecture parameters of DARTS and GDAS (``None`` for SPOS); ``history`` the per-epoch training curve;
    ``from_cache`` tells whether the weights came from a checkpoint (then ``history.steps`` is 0).
    """

    def __init__(
        self,
        config: SupernetConfig,
        dataset: ImageDataset,
        network: NB201Network,
        alpha: torch.Tensor | None = None,
        history: TrainingHistory | None = None,
        *,
        from_cache: bool = False,
        checkpoint: Path | None = None,
        num_threads: int = 1,
    ) -> None:
        if (alpha is None) == (config.mode in DIFFERENTIABLE_MODES):
            need = "needs" if config.mode in DIFFERENTIABLE_MODES else "takes no"
            raise ValueError(f"mode {config.mode!r} {need} architecture parameters")
        self.config = config
        self.dataset = dataset
        self.network = network.eval()
        self.alpha = alpha
        self.history = history or TrainingHistory()
        self.from_cache = from_cache
        self.checkpoint = checkpoint
        self.num_threads = num_threads
        self.key = checkpoint_key(config, dataset)

    def __repr__(self) -> str:
        return f"Supernet(mode={self.config.mode!r}, dataset={self.dataset.name!r}, key={self.key[:12]!r})"

    @property
    def device(self) -> torch.device:
        """Where the weights live, hence where evaluation runs."""
        return _device_of(self.network)

    def to(self, device: str | torch.device | None) -> "Supernet":
        """Move the weights (and ``alpha``) to ``device`` (:func:`~.model.resolve_device`); returns ``self``."""
        device = resolve_device(device)
        self.network.to(device)
        if self.alpha is not None:
            self.alpha = self.alpha.to(device)
        return self

    # -- evaluation ------------------------------------------------------------------------------
    def evaluate(self, ops: Sequence[str], bn_batches: int = 0, split: str = "valid") -> dict[str, float]:
        """Metrics of cell ``ops`` with inherited weights, on the validation split (``split="valid"``)
        or on the train and validation images together (``split="all"``, :data:`EVAL_SPLITS`).

        Returns ``accuracy`` (fraction correct), ``loss`` (mean cross-entropy), ``params`` and
        ``flops`` (of the stand-alone network of that cell, :func:`cell_cost`). ``bn_batches > 0`` first
        recalibrates BatchNorm on that many train batches (the supernet keeps its statistics).
        ``"all"`` scores on four times as many images on digits (a finer loss, less noise from the
        small validation split), but also on the images the weights were trained on: it measures
        how well the inherited weights fit the data, not held-out accuracy.
        """
        if split not in EVAL_SPLITS:
            raise ValueError(f"unknown evaluation split {split!r}; expected one of: {', '.join(EVAL_SPLITS)}")
        ops = nb201.check_arch(ops)
        selection = selection_for(ops)
        images, labels = self.dataset.valid_x, self.dataset.valid_y
        if split == "all":
            images, labels = torch.cat([self.dataset.train_x, images]), torch.cat([self.dataset.train_y, labels])
        with torch_threads(self.num_threads), preserved_batchnorm(self.network):
            recalibrate_batchnorm(
                self.network, selection, self.dataset.train_x, bn_batches, self.config.batch_size, self.config.seed
            )
            accuracy, loss = evaluate_network(self.network, selection, images, labels)
        return {"accuracy": accuracy, "loss": loss, **cell_cost(ops, self.config, self.dataset)}

    # -- architecture selection (DARTS, GDAS) --------------------------------------------------------
    def _require_alpha(self) -> torch.Tensor:
        if self.alpha is None:
            raise ValueError(
                "architecture selection needs architecture parameters (mode='darts' or mode='gdas'), "
                f"this supernet is {self.config.mode!r}"
            )
        return self.alpha

    def select_argmax(self) -> tuple[str, ...]:
        """The magnitude-based selection of DARTS and GDAS: the op with the largest ``α`` on every edge."""
        return tuple(OP_NAMES[i] for i in self._require_alpha().argmax(dim=1).tolist())

    def select_perturbation(self, finetune_epochs: int = 0, seed: int = 0) -> tuple[str, ...]:
        """Perturbation-based selection (Wang et al., ICLR 2021), on the validation split.

        Edges are visited in a seeded random order. On each, every op is masked in turn (its
        mixing weight set to 0, the others kept) and the supernet's validation accuracy
        measured; the op whose removal lowers accuracy most is chosen (ties: larger ``α``) and
        the edge is fixed to it. ``finetune_epochs > 0`` trains a copy of the supernet's weights
        for that many epochs under the partly discretised weights after every decision, as the
        paper does; the supernet itself is never modified. Masking ``none`` never changes the
        output (it contributes zero), so ``none`` wins only where removing every other op helps.
        Meant for DARTS: it scores ops under the ``softmax(α)`` mixture, which a GDAS supernet's
        weights were never trained with.
        """
        alpha = self._require_alpha()
        weights = torch.softmax(alpha.detach(), dim=1).clone()
        network = copy.deepcopy(self.network) if finetune_epochs else self.network
        order = torch.randperm(len(EDGES), generator=torch.Generator().manual_seed(seed)).tolist()
        valid = (self.dataset.valid_x, self.dataset.valid_y)
        with torch_threads(self.num_threads):
            for step, edge in enumerate(order):
                base, _ = evaluate_network(network, list(weights), *valid)
                drops = []
                for op in range(len(OP_NAMES)):
                    masked = weights.clone()
                    masked[edge, op] = 0.0
                    drops.append((base - evaluate_network(network, list(masked), *valid)[0], float(alpha[edge, op])))
                best = max(range(len(OP_NAMES)), key=lambda op: drops[op])
                weights[edge] = F.one_hot(torch.tensor(best), len(OP_NAMES)).to(weights)
                if finetune_epochs and step < len(order) - 1:
                    fixed = list(weights)
                    fit(network, self.dataset, self.config, lambda: fixed, epochs=finetune_epochs, seed_offset=100 + step)
        return tuple(OP_NAMES[i] for i in weights.argmax(dim=1).tolist())


def train_supernet(
    config: SupernetConfig,
    dataset: ImageDataset,
    *,
    num_threads: int = 1,
    progress: bool = False,
    device: str | torch.device | None = "cpu",
) -> Supernet:
    """Train a supernet from scratch (no cache); see the module docstring for the modes.

    ``device`` (:func:`~.model.resolve_device`): where to train. Initial weights, data order and
    sampled paths come from CPU generators, so every device follows the same seeded run; only
    floating-point rounding differs between devices.
    """
    device = resolve_device(device)
    with torch_threads(num_threads):
        with _seeded(config.seed):
            network = build_network(config, dataset).to(device)
            differentiable = config.mode in DIFFERENTIABLE_MODES
            alpha = nn.Parameter((1e-3 * torch.randn(len(EDGES), len(OP_NAMES))).to(device)) if differentiable else None
        description = f"supernet ({config.mode}, {dataset.name})"
        if alpha is None:
            sampler = torch.Generator().manual_seed(config.seed + 1)
            draw = fair_paths if config.sampling == "fair" else uniform_path
            history = fit(network, dataset, config, lambda: draw(sampler), progress=progress, description=description)
        else:
            arch_path, weight_path = _architecture_paths(config, dataset, alpha)
            arch_optimiser = torch.optim.Adam(
                [alpha], lr=config.arch_lr, betas=(0.5, 0.999), weight_decay=config.arch_weight_decay
            )

            def arch_step(x: torch.Tensor, y: torch.Tensor) -> None:
                arch_optimiser.zero_grad(set_to_none=True)
                F.cross_entropy(network(x, arch_path()), y).backward()
                arch_optimiser.step()

            history = fit(
                network, dataset, config, weight_path, arch_step=arch_step, progress=progress, description=description
            )
    return Supernet(
        config, dataset, network, None if alpha is None else alpha.detach().clone(), history, num_threads=num_threads
    )


def _architecture_paths(
    config: SupernetConfig, dataset: ImageDataset, alpha: torch.Tensor
) -> tuple[Callable[[], Selection], Callable[[], Selection]]:
    """The per-edge selections of a differentiable mode: for the ``α`` step (gradients reach
    ``alpha``) and for the weight step (``alpha`` fixed). DARTS: ``softmax(α)`` mixtures; GDAS:
    hard Gumbel-softmax samples (:class:`GumbelSampler`)."""
    if config.mode == "darts":
        return lambda: list(torch.softmax(alpha, dim=1)), lambda: list(torch.softmax(alpha.detach(), dim=1))
    if config.mode == "gdas":
        sampler = GumbelSampler(config, dataset)
        return lambda: sampler.sample(alpha), lambda: sampler.weight_path(alpha)
    raise ValueError(
        f"mode {config.mode!r} has no architecture parameters; expected one of: {', '.join(DIFFERENTIABLE_MODES)}"
    )


# -- checkpoint cache --------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """``$ARCHGYM_CACHE_DIR/supernet``, else ``$XDG_CACHE_HOME/archgym/supernet``, else ``~/.cache/archgym/supernet``."""
    if os.environ.get("ARCHGYM_CACHE_DIR"):
        return Path(os.environ["ARCHGYM_CACHE_DIR"]).expanduser() / "supernet"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "archgym" / "supernet"


#: config fields added after checkpoints were first keyed, with the value earlier code always used:
#: left out of the key at that value, so existing checkpoints stay valid
LATER_FIELDS: dict[str, Any] = {"sampling": "uniform"}


def _config_record(config: SupernetConfig) -> dict[str, Any]:
    """The config as keyed in checkpoints (:data:`LATER_FIELDS` left out at their old values)."""
    record = dataclasses.asdict(config)
    return {k: v for k, v in record.items() if k not in LATER_FIELDS or v != LATER_FIELDS[k]}


def _metadata(config: SupernetConfig, dataset: ImageDataset) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "version": SUPERNET_VERSION,
        "torch": str(torch.__version__),
        "config": _config_record(config),
        "dataset": dataset.name,
        "data": dataset.fingerprint(),
    }


def checkpoint_key(config: SupernetConfig, dataset: ImageDataset) -> str:
    """SHA-256 of (config incl. seed, data fingerprint, code version, torch version)."""
    return hashlib.sha256(json.dumps(_metadata(config, dataset), sort_keys=True).encode()).hexdigest()


def checkpoint_path(config: SupernetConfig, dataset: ImageDataset, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the checkpoint of ``(config, dataset)`` lives in ``cache_dir`` (default :func:`default_cache_dir`)."""
    folder = default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    return folder / f"supernet-{config.mode}-{dataset.name}-{checkpoint_key(config, dataset)[:24]}.pt"


def save_checkpoint(supernet: Supernet, path: str | os.PathLike[str]) -> Path:
    """Write ``supernet`` as a state-dict checkpoint, atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "metadata": {**_metadata(supernet.config, supernet.dataset), "key": supernet.key},
        "state_dict": {name: tensor.detach().cpu() for name, tensor in supernet.network.state_dict().items()},
        "alpha": None if supernet.alpha is None else supernet.alpha.detach().cpu(),
        "history": {"loss": supernet.history.loss, "accuracy": supernet.history.accuracy},
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def load_checkpoint(
    path: str | os.PathLike[str], config: SupernetConfig, dataset: ImageDataset, *, num_threads: int = 1
) -> Supernet:
    """Load the checkpoint at ``path`` for ``(config, dataset)``; :class:`CheckpointError` if unusable.

    Read with ``torch.load(weights_only=True)``. The metadata must match ``config``, the data
    fingerprint and the code version; the state dict must name exactly the fresh network's
    tensors with the same shapes and dtypes, all finite. Only then are the weights copied, into a
    fresh network, so a failure leaves nothing half-loaded.
    """
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file (zip, pickle, EOF, ...)
        # from None: the chained torch error would repeat its advice to load with weights_only=False
        raise CheckpointError(f"cannot read supernet checkpoint {path}: {_load_failure(exc)}") from None
    if not isinstance(payload, dict) or not {"metadata", "state_dict", "alpha", "history"} <= set(payload):
        raise CheckpointError(f"{path} is not an archgym supernet checkpoint (missing metadata/state_dict/alpha/history)")
    expected = {**_metadata(config, dataset), "key": checkpoint_key(config, dataset)}
    found = payload["metadata"] if isinstance(payload["metadata"], dict) else {}
    differing = [name for name in expected if found.get(name) != expected[name]]
    if differing:
        details = "; ".join(f"{name}: checkpoint {found.get(name)!r} != expected {expected[name]!r}" for name in differing)
        raise CheckpointError(f"supernet checkpoint {path} was made for something else ({details})")

    with _seeded(config.seed):
        network = build_network(config, dataset)
    state = payload["state_dict"]
    _check_state(path, network.state_dict(), state)
    alpha = payload["alpha"]
    if config.mode in DIFFERENTIABLE_MODES:
        shape = (len(EDGES), len(OP_NAMES))
        if not isinstance(alpha, torch.Tensor) or alpha.shape != shape or not torch.isfinite(alpha).all():
            raise CheckpointError(
                f"{path}: {config.mode!r} checkpoint lacks finite architecture parameters of shape (6, 5)"
            )
        alpha = alpha.clone()
    elif alpha is not None:
        raise CheckpointError(f"{path}: a {config.mode!r} checkpoint must not hold architecture parameters")
    network.load_state_dict(state, strict=True)
    history = payload["history"]
    try:
        history = TrainingHistory([float(v) for v in history["loss"]], [float(v) for v in history["accuracy"]])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: malformed training history ({exc})") from exc
    return Supernet(config, dataset, network, alpha, history, from_cache=True, checkpoint=path, num_threads=num_threads)


def _load_failure(exc: Exception) -> str:
    """One line of our own on why ``torch.load(weights_only=True)`` failed.

    torch's message for a refused object advises retrying with ``weights_only=False``, which
    would run the file's code; it is never repeated. A refusal names the Python object the file
    asks for; any other failure (a damaged or truncated file) gives the exception's first line.
    """
    text = str(exc)
    if "weights only" in text.lower() or "WeightsUnpickler" in text:
        match = re.search(r"GLOBAL\s+([\w.]+)", text)
        found = f"the Python object {match.group(1)}" if match else "a Python object other than tensors and plain containers"
        return (f"it asks for {found}, which an archgym checkpoint never holds; checkpoints are read as tensors and "
                "plain containers only, and no code in them is run")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else 'no details'}"


def _check_state(path: Path, reference: dict[str, torch.Tensor], state: Any) -> None:
    """Every tensor of ``reference`` present in ``state`` with the same shape/dtype, finite; no extras."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: state_dict is a {type(state).__name__}, not a dict")
    missing, extra = sorted(set(reference) - set(state)), sorted(set(state) - set(reference))
    if missing or extra:
        raise CheckpointError(f"{path}: state dict does not fit the network (missing {missing[:5]}, unexpected {extra[:5]})")
    for name, tensor in reference.items():
        value = state[name]
        if not isinstance(value, torch.Tensor) or value.shape != tensor.shape or value.dtype != tensor.dtype:
            found = f"{tuple(value.shape)} {value.dtype}" if isinstance(value, torch.Tensor) else type(value).__name__
            raise CheckpointError(f"{path}: tensor {name!r} is {found}, expected {tuple(tensor.shape)} {tensor.dtype}")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(f"{path}: tensor {name!r} holds non-finite values")


def load_or_train_supernet(
    config: SupernetConfig,
    dataset: ImageDataset,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    on_bad_checkpoint: str = "retrain",
    num_threads: int = 1,
    progress: bool = False,
    device: str | torch.device | None = "cpu",
) -> Supernet:
    """The trained supernet for ``(config, dataset)``: from the checkpoint cache, else trained and cached.

    ``on_bad_checkpoint``: ``"retrain"`` (default) warns and replaces an unusable checkpoint;
    ``"error"`` raises :class:`CheckpointError` instead. ``device``: where the supernet trains
    and evaluates (:func:`~.model.resolve_device`; ``"cpu"`` default, ``"cuda"``, ``"auto"``).
    Checkpoints are stored on the CPU and are not keyed by device: weights trained on CUDA are
    served to a CPU run (and vice versa); they match CPU-trained ones up to floating-point rounding.
    """
    device = resolve_device(device)
    if on_bad_checkpoint not in ON_BAD_CHECKPOINT:
        raise ValueError(f"unknown on_bad_checkpoint {on_bad_checkpoint!r}; expected one of: {', '.join(ON_BAD_CHECKPOINT)}")
    path = checkpoint_path(config, dataset, cache_dir)
    if path.exists():
        try:
            return load_checkpoint(path, config, dataset, num_threads=num_threads).to(device)
        except CheckpointError as exc:
            if on_bad_checkpoint == "error":
                raise
            warnings.warn(f"{exc}; retraining and overwriting it", RuntimeWarning, stacklevel=2)
    supernet = train_supernet(config, dataset, num_threads=num_threads, progress=progress, device=device)
    supernet.checkpoint = save_checkpoint(supernet, path)
    return supernet
