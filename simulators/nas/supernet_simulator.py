"""A :class:`~archgym.simulator.Simulator` over a trained weight-sharing supernet.

``evaluate(design, workload)`` scores the design's NAS-Bench-201 cell with the weights it
inherits from the supernet (:meth:`.supernet.Supernet.evaluate`) on the validation split of
the dataset the supernet was trained on (or, ``split="all"``, on its train and validation images
together); the workload is that dataset's name. Given several supernets (a seed ensemble,
:func:`ensemble_configs`), a cell's accuracy and loss are the means over the members.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from archgym.simulator import Metric, Metrics, Simulator
from archgym.simulators.nas import nb201
from archgym.simulators.nas.supernet import EVAL_SPLITS, SUPERNET_VERSION, Supernet, SupernetConfig

#: what :meth:`SupernetSimulator.evaluate` returns
SUPERNET_METRICS: tuple[Metric, ...] = (
    Metric("accuracy", "fraction", "maximize",
           "accuracy with weights inherited from the supernet, on the validation split (split='all': train + validation)"),
    Metric("loss", "nats", "minimize", "mean cross-entropy with inherited weights, on the same images as accuracy"),
    Metric("params", "count", "minimize", "trainable parameters of the stand-alone network of the cell"),
    Metric("flops", "FLOPs", "minimize", "NAS-Bench-201 FLOPs (multiply-accumulates) of one inference"),
)


def check_ensemble(ensemble: Any) -> int:
    """``ensemble`` as a member count: a positive integer (not a bool), else ``ValueError`` naming it."""
    if isinstance(ensemble, bool) or not isinstance(ensemble, int) or ensemble < 1:
        raise ValueError(f"ensemble must be a positive integer (the number of supernets), got {ensemble!r}")
    return ensemble


def ensemble_configs(config: SupernetConfig, ensemble: int) -> list[SupernetConfig]:
    """The configs of a seed ensemble: ``config`` with seeds ``config.seed`` .. ``config.seed + ensemble - 1``
    (member 0 is ``config`` itself, so ``ensemble=1`` is the single supernet)."""
    return [dataclasses.replace(config, seed=config.seed + i) for i in range(check_ensemble(ensemble))]


class SupernetSimulator(Simulator):
    """Evaluate NAS-Bench-201 cells (design dicts ``{"edge_1_0": op, ...}``) on a trained supernet,
    or on a seed ensemble of them.

    One supernet's ranking of cells depends heavily on its training seed; averaging the loss of
    several supernets trained alike with different seeds smooths that noise out (README,
    "Supernet ranking").

    Args:
        supernet: the trained supernet (:func:`.supernet.load_or_train_supernet`), or a sequence
            of them (an ensemble: the same dataset, distinct checkpoints); the first is
            ``self.supernet``. ``accuracy`` and ``loss`` are the means over the members (each
            recalibrated and scored as a single supernet would be); ``params`` and ``flops`` are
            the cell's own. A one-member sequence behaves exactly as the bare supernet.
        bn_batches: BatchNorm recalibration batches before each evaluation (0 = use the
            supernet's running statistics).
        split: the images scored, ``"valid"`` (the validation split) or ``"all"`` (train and
            validation; :meth:`.supernet.Supernet.evaluate`).
    """

    name = "nas-supernet"
    version = SUPERNET_VERSION
    metrics = SUPERNET_METRICS

    def __init__(self, supernet: Supernet | Sequence[Supernet], bn_batches: int = 0, split: str = "valid") -> None:
        if isinstance(bn_batches, bool) or not isinstance(bn_batches, int) or bn_batches < 0:
            raise ValueError(f"bn_batches must be a non-negative integer, got {bn_batches!r}")
        if split not in EVAL_SPLITS:
            raise ValueError(f"unknown evaluation split {split!r}; expected one of: {', '.join(EVAL_SPLITS)}")
        members = (supernet,) if isinstance(supernet, Supernet) else tuple(supernet)
        if not members:
            raise ValueError("an ensemble needs at least one supernet, got none")
        first = members[0]
        for member in members[1:]:
            if (member.dataset.name, member.dataset.fingerprint()) != (first.dataset.name, first.dataset.fingerprint()):
                raise ValueError(f"ensemble members must share one dataset: {member!r} was not trained on {first!r}'s data")
        keys = [member.key for member in members]
        if len(set(keys)) < len(keys):
            raise ValueError(f"ensemble members must be distinct supernets (e.g. different seeds); repeated: {members!r}")
        #: the ensemble's members (one for a single supernet)
        self.supernets: tuple[Supernet, ...] = members
        #: the first member (the single supernet)
        self.supernet = first
        self.bn_batches = bn_batches
        self.split = split

    def evaluate(self, design: Mapping[str, Any], workload: str) -> Metrics:
        if workload != self.supernet.dataset.name:
            self.workload_key(workload)  # raises, naming the dataset
        ops = nb201.design_to_arch(design)
        scores = [member.evaluate(ops, bn_batches=self.bn_batches, split=self.split) for member in self.supernets]
        if len(scores) == 1:
            return scores[0]
        return {**scores[0], **{name: sum(s[name] for s in scores) / len(scores) for name in ("accuracy", "loss")}}

    def workload_key(self, workload: str) -> str:
        """The workload must name the supernet's dataset (its weights only know that data)."""
        if workload != self.supernet.dataset.name:
            raise ValueError(
                f"this supernet was trained on {self.supernet.dataset.name!r}; it cannot evaluate workload {workload!r}"
            )
        return f"{workload}:{self.supernet.dataset.fingerprint()[:16]}"

    def fingerprint(self) -> str:
        """Identity plus the checkpoint key (config, data, seed, code), the recalibration setting,
        the images scored and the further members' keys (``split`` only when not the original
        ``"valid"``, the ensemble only with several members, so earlier cached evaluations keep
        their fingerprint)."""
        split = "" if self.split == "valid" else f"|split={self.split}"
        others = "" if len(self.supernets) == 1 else "|ensemble=" + ",".join(m.key for m in self.supernets[1:])
        return f"{self.identity}|{self.supernet.key}|bn={self.bn_batches}{split}{others}"
