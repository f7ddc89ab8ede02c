"""A :class:`~archgym.simulator.Simulator` over a trained weight-sharing supernet.

``evaluate(design, workload)`` scores the design's NAS-Bench-201 cell with the weights it
inherits from the supernet (:meth:`.supernet.Supernet.evaluate`) on the validation split of
the dataset the supernet was trained on (or, ``split="all"``, on its train and validation images
together); the workload is that dataset's name.
"""

from __future__ import annotations

from typing import Any, Mapping

from archgym.simulator import Metric, Metrics, Simulator
from archgym.simulators.nas import nb201
from archgym.simulators.nas.supernet import EVAL_SPLITS, SUPERNET_VERSION, Supernet

#: what :meth:`SupernetSimulator.evaluate` returns
SUPERNET_METRICS: tuple[Metric, ...] = (
    Metric("accuracy", "fraction", "maximize",
           "accuracy with weights inherited from the supernet, on the validation split (split='all': train + validation)"),
    Metric("loss", "nats", "minimize", "mean cross-entropy with inherited weights, on the same images as accuracy"),
    Metric("params", "count", "minimize", "trainable parameters of the stand-alone network of the cell"),
    Metric("flops", "FLOPs", "minimize", "NAS-Bench-201 FLOPs (multiply-accumulates) of one inference"),
)


class SupernetSimulator(Simulator):
    """Evaluate NAS-Bench-201 cells (design dicts ``{"edge_1_0": op, ...}``) on a trained supernet.

    Args:
        supernet: the trained supernet (:func:`.supernet.load_or_train_supernet`).
        bn_batches: BatchNorm recalibration batches before each evaluation (0 = use the
            supernet's running statistics).
        split: the images scored, ``"valid"`` (the validation split) or ``"all"`` (train and
            validation; :meth:`.supernet.Supernet.evaluate`).
    """

    name = "nas-supernet"
    version = SUPERNET_VERSION
    metrics = SUPERNET_METRICS

    def __init__(self, supernet: Supernet, bn_batches: int = 0, split: str = "valid") -> None:
        if isinstance(bn_batches, bool) or not isinstance(bn_batches, int) or bn_batches < 0:
            raise ValueError(f"bn_batches must be a non-negative integer, got {bn_batches!r}")
        if split not in EVAL_SPLITS:
            raise ValueError(f"unknown evaluation split {split!r}; expected one of: {', '.join(EVAL_SPLITS)}")
        self.supernet = supernet
        self.bn_batches = bn_batches
        self.split = split

    def evaluate(self, design: Mapping[str, Any], workload: str) -> Metrics:
        if workload != self.supernet.dataset.name:
            self.workload_key(workload)  # raises, naming the dataset
        return self.supernet.evaluate(nb201.design_to_arch(design), bn_batches=self.bn_batches, split=self.split)

    def workload_key(self, workload: str) -> str:
        """The workload must name the supernet's dataset (its weights only know that data)."""
        if workload != self.supernet.dataset.name:
            raise ValueError(
                f"this supernet was trained on {self.supernet.dataset.name!r}; it cannot evaluate workload {workload!r}"
            )
        return f"{workload}:{self.supernet.dataset.fingerprint()[:16]}"

    def fingerprint(self) -> str:
        """Identity plus the checkpoint key (config, data, seed, code), the recalibration setting and
        the images scored (``split`` only when not the original ``"valid"``, so earlier cached
        evaluations keep their fingerprint)."""
        split = "" if self.split == "valid" else f"|split={self.split}"
        return f"{self.identity}|{self.supernet.key}|bn={self.bn_batches}{split}"
