"""``archgym/Supernet-v0``, ``-v1`` and ``-v2``: NAS-Bench-201 cells scored by a weight-sharing supernet trained on the CPU.

The three ids share :class:`SupernetEnv`; v1 and v2 are registered with different defaults (v1:
``epochs=60``, ``bn_batches=16``; v2: ``epochs=300``, ``bn_batches=16``, ``split="all"``,
``targets={"loss": 1.0}``; see ``archgym/envs/__init__.py``) and v0 keeps the class defaults below.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from archgym.cache import EvaluationCache
from archgym.env import DSEEnv
from archgym.envs.nasbench201 import cell_design_space
from archgym.errors import import_optional
from archgym.registration import EnvMetadata
from archgym.objectives import Objective, ObjectiveSpec, resolve_objectives
from archgym.simulators.nas.nb201 import EDGE_NAMES

#: what the agent observes after each step
OBSERVED_METRICS: tuple[str, ...] = ("accuracy", "loss", "params", "flops")
#: the default reward: ``weighted_sum`` with this target is exactly the validation accuracy
DEFAULT_TARGETS: dict[str, float] = {"accuracy": 1.0}
#: the objectives of the vector reward: one-shot accuracy against FLOPs
DEFAULT_OBJECTIVES: tuple[ObjectiveSpec, ...] = (
    ObjectiveSpec("accuracy", "maximize", "fraction"),
    ObjectiveSpec("flops", "minimize", "FLOPs"),
)


def metadata() -> EnvMetadata:
    """Design space, metrics and default objective of ``archgym/Supernet-v0``, without training."""
    metrics = import_optional("archgym.simulators.nas.supernet_simulator", "nas", "archgym/Supernet-v0").SUPERNET_METRICS
    return EnvMetadata(cell_design_space(), tuple(metrics), "weighted_sum", dict(DEFAULT_TARGETS), OBSERVED_METRICS,
                       objectives=DEFAULT_OBJECTIVES)


class SupernetEnv(DSEEnv):
    """NAS-Bench-201 cell search scored by a weight-sharing supernet trained at construction.

    ## Description
    Building the env trains (or loads from the on-disk cache) a NAS-Bench-201 supernet in
    which every edge of the cell holds all five operations, on real data: scikit-learn's
    bundled 8×8 digits by default, or CIFAR-10 from a local folder. ``mode="spos"`` trains it
    by uniform single-path sampling (SPOS), ``mode="darts"`` by DARTS' first-order bilevel
    continuous relaxation, ``mode="gdas"`` by GDAS (the same bilevel alternation, but one op per
    edge sampled by hard Gumbel-softmax with straight-through gradients to ``α``, temperature
    annealed 10 → 0.1; :mod:`archgym.simulators.nas.supernet`). Each step scores one cell
    with the weights it inherits from the supernet on the validation split — the one-shot
    estimate weight-sharing NAS searches with, not the accuracy of the cell trained alone
    (``benchmarks/supernet_ranking.py`` measures how well the two rank). The trained
    supernet is ``env.unwrapped.supernet`` (DARTS/GDAS selections: ``select_argmax()``,
    ``select_perturbation()``).

    ## Action Space
    ``MultiDiscrete([5, 5, 5, 5, 5, 5])``: the operation of each edge ``edge_1_0``,
    ``edge_2_0``, ``edge_2_1``, ``edge_3_0``, ``edge_3_1``, ``edge_3_2`` (NAS-Bench-201's
    arch-string order), each one of ``none``, ``skip_connect``, ``nor_conv_1x1``,
    ``nor_conv_3x3``, ``avg_pool_3x3`` — the design space of ``archgym/NASBench201-v0``
    (:func:`archgym.envs.nasbench201.cell_design_space`). ``step`` also takes a design dict.

    ## Observation Space
    ``Box(-1, 1, (4,))``: validation accuracy, validation loss, parameters and FLOPs of the
    last cell, each squashed as ``x / (|x| + s)`` (:class:`archgym.env.DSEEnv`) with ``s`` its
    target, else 1 for accuracy and loss and the all-``nor_conv_3x3`` cell's value for
    parameters and FLOPs.

    ## Rewards
    Default: the validation accuracy (``weighted_sum`` with target ``{"accuracy": 1.0}``).
    Any objective of :mod:`archgym.objectives` via ``reward=``, ``targets=``, ``weights=``
    over ``accuracy``, ``loss``, ``params``, ``flops`` — e.g. accuracy under a FLOPs budget.

    ## Episode End
    Truncated after ``max_episode_steps`` (100 by registration).

    ## Arguments
    ``mode``: ``"spos"`` (default) | ``"darts"`` | ``"gdas"``. ``dataset``: ``"digits"``
    (default) | ``"cifar10"`` (needs ``data_dir``, the folder holding ``cifar-10-batches-py``;
    split as NAS-Bench-201's cifar10-valid: train on one half of the training set, validate
    on the other, the test batch never read; ``limit`` keeps that many images per split).
    ``channels`` (8), ``cells_per_stage`` (1),
    ``epochs`` (30; v1: 60), ``seed`` (0): the supernet and its training. ``ensemble`` (1): train
    (or load) that many supernets of the same config with seeds ``seed`` .. ``seed + ensemble - 1``,
    each cached on its own, and score a cell by the members' mean accuracy and loss (a seed
    ensemble: one supernet's ranking depends heavily on its seed; it costs ``ensemble`` times the
    training and evaluation; the members are ``env.unwrapped.supernets``). ``train_kwargs``: further
    :class:`~archgym.simulators.nas.supernet.SupernetConfig` fields (``lr``, ``batch_size``,
    ``arch_lr``, GDAS' ``tau_max`` and ``tau_min``, SPOS' ``sampling="fair"`` for FairNAS'
    strict fairness, ...). ``bn_batches`` (0; v1: 16): BatchNorm
    recalibration batches before every evaluation (Guo et al.'s recalibration for SPOS); 0 uses
    the supernet's running statistics, which are gathered over many paths and fit none of them
    well (``benchmarks/supernet_ranking.py`` measures the versions). ``split`` (``"valid"``; v2:
    ``"all"``): the images a cell is scored on, the validation split or train and validation
    together (four times the images on digits, so a finer-grained loss; but the weights were
    trained on three quarters of them, so it measures fit, not held-out accuracy). ``cache_dir``: checkpoint folder
    (default ``$ARCHGYM_CACHE_DIR/supernet`` or ``~/.cache/archgym/supernet``);
    ``on_bad_checkpoint``: ``"retrain"`` | ``"error"``. ``num_threads`` (1): torch threads.
    ``device``: ``"cpu"`` (default), ``"cuda"``/``"cuda:N"``, or ``"auto"`` (CUDA when present);
    a device this machine lacks raises ``ValueError`` naming it.
    ``progress``: show the training progress bar. ``reward``, ``targets``, ``weights``,
    ``cache``, ``reward_kwargs``, ``render_mode``: as :class:`archgym.env.DSEEnv`.

    ## Multi-objective
    Objectives (:data:`DEFAULT_OBJECTIVES`): one-shot validation accuracy (maximise) and FLOPs
    (minimise); ``objectives=`` picks others. ``reward="vector"`` returns their log-ratios to
    NAS-Bench-201's ResNet cell (:class:`archgym.env.DSEEnv`).

    ## Version History
    * v2: defaults ``epochs=300``, ``bn_batches=16``, ``split="all"`` and ``targets={"loss": 1.0}``
      (reward = minus the mean cross-entropy on all digits images): scored by loss rather than
      accuracy (on 450 validation images the accuracy of most cells lies within a few images of
      each other) after training long enough for the loss to rank (README, "Supernet ranking").
    * v1: defaults ``epochs=60`` (was 30) and ``bn_batches=16`` (was 0): the supernet is trained
      twice as long and BatchNorm is recalibrated for every cell, which ranks cells better
      against NAS-Bench-201's CIFAR-10 accuracy (README, "Supernet ranking"). In both versions,
      ``dataset="cifar10"`` now trains and validates on NAS-Bench-201's two halves of the
      training set; it used to validate on the test batch, which a search must never see.
    * v0: initial release.
    """

    DEFAULT_OBJECTIVES = DEFAULT_OBJECTIVES

    def __init__(
        self,
        mode: str = "spos",
        dataset: str = "digits",
        data_dir: str | os.PathLike[str] | None = None,
        channels: int = 8,
        cells_per_stage: int = 1,
        epochs: int = 30,
        seed: int = 0,
        ensemble: int = 1,
        bn_batches: int = 0,
        split: str = "valid",
        cache_dir: str | os.PathLike[str] | None = None,
        on_bad_checkpoint: str = "retrain",
        num_threads: int = 1,
        device: str | None = "cpu",
        progress: bool = True,
        limit: int | None = None,
        train_kwargs: Mapping[str, Any] | None = None,
        reward: str | Objective = "weighted_sum",
        targets: Mapping[str, float] | None = None,
        weights: Mapping[str, float] | None = None,
        cache: bool | EvaluationCache = True,
        reward_kwargs: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        objectives: Any = None,
    ) -> None:
        import_optional("torch", "nas", "archgym/Supernet-v0")
        from archgym.simulators.nas.data_loaders import load_dataset
        from archgym.simulators.nas.supernet import SupernetConfig, cell_cost, load_or_train_supernet
        from archgym.simulators.nas.supernet_simulator import SUPERNET_METRICS, SupernetSimulator, ensemble_configs

        # checked before the supernet is trained (minutes), not after
        objectives = resolve_objectives(SUPERNET_METRICS, DEFAULT_OBJECTIVES if objectives is None else objectives)

        config = SupernetConfig(
            mode=mode, channels=channels, cells_per_stage=cells_per_stage, epochs=epochs, seed=seed,
            **dict(train_kwargs or {}),
        )
        members = ensemble_configs(config, ensemble)  # checked before any training, too
        data = load_dataset(dataset, data_dir, limit=limit)
        #: the trained weight-sharing supernets: one, or the members of a seed ensemble
        self.supernets = tuple(
            load_or_train_supernet(
                member, data, cache_dir=cache_dir, on_bad_checkpoint=on_bad_checkpoint, num_threads=num_threads,
                progress=progress, device=device,
            )
            for member in members
        )
        #: the trained weight-sharing supernet (of an ensemble: the first member, seed ``seed``)
        self.supernet = self.supernets[0]
        largest = cell_cost(("nor_conv_3x3",) * len(EDGE_NAMES), config, data)
        super().__init__(
            SupernetSimulator(self.supernets, bn_batches=bn_batches, split=split),
            cell_design_space(),
            data.name,
            reward=reward,
            # log_ratio/vector take the baseline cell (the design space's defaults) as the reference
            targets=dict(DEFAULT_TARGETS) if targets is None and reward not in ("log_ratio", "vector") else targets,
            weights=weights,
            observed_metrics=OBSERVED_METRICS,
            metric_scales={"accuracy": 1.0, "loss": 1.0, **largest},
            cache=cache,
            reward_kwargs=reward_kwargs,
            render_mode=render_mode,
            objectives=objectives,
        )
