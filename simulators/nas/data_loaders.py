"""Image-classification data for the weight-sharing supernet: scikit-learn's digits, or CIFAR-10.

Two datasets, both held in memory as float32 tensors ``(N, C, H, W)`` with a train and a
validation split:

* ``digits`` (default): scikit-learn's bundled ``load_digits`` (1,797 8×8 grey images of the
  digits 0–9, shipped inside the scikit-learn wheel, so nothing is downloaded). The images are
  split into train / validation by a seeded, class-stratified split.
* ``cifar10``: CIFAR-10 from a local folder the user already has, in the standard "python
  version" layout (``cifar-10-batches-py/data_batch_1`` … ``data_batch_5``), split as
  NAS-Bench-201's ``cifar10-valid`` results were made: the 50,000 training images are divided
  into the benchmark's own two halves of 25,000 (:func:`nb201_cifar10_split`, shipped from
  NAS-Bench-201's reference code), train on the first, validate on the second. The test batch
  is never read, so a search cannot select on it. ``limit`` keeps the first images of each half
  (stratification is not needed: CIFAR's batches are shuffled).

Pixels are scaled to [0, 1] and standardised per channel with the *train* split's mean and
standard deviation. :meth:`ImageDataset.fingerprint` hashes the tensors, so a supernet
checkpoint is keyed by the exact data it was trained on.

CIFAR-10's python batches are pickle files. Unpickling can run arbitrary code, so they are read
with :class:`RestrictedUnpickler`, which resolves only the handful of globals numpy needs to
rebuild an array (``ndarray``, ``dtype``, ``_reconstruct`` and ``codecs.encode``) and refuses
everything else with :class:`pickle.UnpicklingError`.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from archgym.errors import UserError

#: dataset names accepted by :func:`load_dataset`
DATASETS: tuple[str, ...] = ("digits", "cifar10")
#: file names of the CIFAR-10 python batches inside ``cifar-10-batches-py``
CIFAR10_TRAIN_BATCHES: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_FOLDER = "cifar-10-batches-py"
#: CIFAR-10's training images (the five data batches)
CIFAR10_TRAIN_IMAGES = 50_000


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A classification dataset held in memory: standardised images and integer labels."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    valid_x: torch.Tensor
    valid_y: torch.Tensor
    num_classes: int

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.train_x, self.train_y), ("valid", self.valid_x, self.valid_y)):
            if x.ndim != 4 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
                raise UserError(
                    f"dataset {self.name!r}: {split} split needs images (N, C, H, W) and labels (N,) with N > 0, "
                    f"got {tuple(x.shape)} and {tuple(y.shape)}"
                )

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of one image."""
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    def fingerprint(self) -> str:
        """SHA-256 over name, shapes and the bytes of every tensor: changes with any pixel or label.

        Computed once (the tensors are not meant to be modified in place).
        """
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> str:
        digest = hashlib.sha256(f"{self.name}|{self.num_classes}".encode())
        for tensor in (self.train_x, self.train_y, self.valid_x, self.valid_y):
            array = tensor.contiguous().numpy()
            digest.update(f"|{array.dtype}{array.shape}|".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()


def load_dataset(
    name: str = "digits",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    valid_fraction: float = 0.25,
    seed: int = 0,
    limit: int | None = None,
) -> ImageDataset:
    """Load dataset ``name`` (one of :data:`DATASETS`).

    Args:
        name: ``"digits"`` or ``"cifar10"``.
        data_dir: CIFAR-10 only: the folder holding ``cifar-10-batches-py`` (or that folder itself).
        valid_fraction: digits only: share of the images held out for validation (stratified).
        seed: digits only: seed of the train/validation split.
        limit: CIFAR-10 only: keep at most this many images per split (CPU budgets).

    CIFAR-10 is split into NAS-Bench-201's train and validation halves of its training set
    (:func:`load_cifar10`); the test batch is never used.
    """
    if name == "digits":
        if data_dir is not None or limit is not None:
            raise UserError("the digits dataset ships with scikit-learn; data_dir and limit apply to cifar10 only")
        return load_digits_dataset(valid_fraction=valid_fraction, seed=seed)
    if name == "cifar10":
        if data_dir is None:
            raise UserError(
                "dataset 'cifar10' needs data_dir=<folder holding cifar-10-batches-py>; archgym never downloads it "
                "(get 'CIFAR-10 python version' from https://www.cs.toronto.edu/~kriz/cifar.html)"
            )
        return load_cifar10(data_dir, limit=limit)
    raise UserError(f"unknown dataset {name!r}; expected one of: {', '.join(DATASETS)}")


def load_digits_dataset(valid_fraction: float = 0.25, seed: int = 0) -> ImageDataset:
    """scikit-learn's 8×8 digits with a seeded, stratified train/validation split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < valid_fraction < 1:
        raise UserError(f"valid_fraction must be in (0, 1), got {valid_fraction!r}")
    digits = load_digits()
    images = digits.images.astype(np.float32)[:, None] / 16.0  # pixel values are 0..16
    labels = digits.target.astype(np.int64)
    train_x, valid_x, train_y, valid_y = train_test_split(
        images, labels, test_size=valid_fraction, random_state=seed, stratify=labels
    )
    return _standardised("digits", train_x, train_y, valid_x, valid_y, num_classes=10)


def load_cifar10(data_dir: str | os.PathLike[str], limit: int | None = None) -> ImageDataset:
    """CIFAR-10 from the python batches under ``data_dir``, split as NAS-Bench-201's ``cifar10-valid``.

    Data batches 1–5 are concatenated in order (50,000 images); the images in NAS-Bench-201's
    train half (:func:`nb201_cifar10_split`) form the train split, the other half the validation
    split. ``test_batch`` is not read.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UserError(f"limit must be a positive integer or None, got {limit!r}")
    root = Path(data_dir).expanduser()
    folder = root if root.name == CIFAR10_FOLDER else root / CIFAR10_FOLDER
    missing = [str(folder / f) for f in CIFAR10_TRAIN_BATCHES if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 python batches not found: missing {', '.join(missing)}; expected the extracted "
            f"'cifar-10-python.tar.gz' ({CIFAR10_FOLDER}/data_batch_1..5) under {root}"
        )
    batches = [_read_cifar_batch(folder / f) for f in CIFAR10_TRAIN_BATCHES]
    images = np.concatenate([x for x, _ in batches])
    labels = np.concatenate([y for _, y in batches])
    in_train = nb201_cifar10_split()
    if len(images) != len(in_train):
        raise ValueError(
            f"NAS-Bench-201's CIFAR-10 split covers {len(in_train)} training images, but data_batch_1..5 under "
            f"{folder} hold {len(images)}; expected the unmodified CIFAR-10 python batches"
        )
    train_x, train_y, valid_x, valid_y = images[in_train], labels[in_train], images[~in_train], labels[~in_train]
    if limit is not None:
        train_x, train_y, valid_x, valid_y = train_x[:limit], train_y[:limit], valid_x[:limit], valid_y[:limit]
    return _standardised("cifar10", train_x, train_y, valid_x, valid_y, num_classes=10)


@functools.lru_cache(maxsize=1)
def nb201_cifar10_split() -> np.ndarray:
    """NAS-Bench-201's ``cifar10-valid`` split: a boolean mask over CIFAR-10's 50,000 training
    images (data batches 1–5 in order), ``True`` for the 25,000 the benchmark trained on, ``False``
    for the 25,000 it validated on.

    Shipped as ``data/nb201_cifar10_split.npz`` (one bit per image), built by
    ``scripts/build_nb201_split.py`` from ``configs/nas-benchmark/cifar-split.txt`` of the
    benchmark's reference code (AutoDL-Projects, MIT; licence beside the file).
    """
    from importlib import resources

    with resources.files("archgym.simulators.nas").joinpath("data", "nb201_cifar10_split.npz").open("rb") as handle:
        with np.load(handle, allow_pickle=False) as data:
            mask = np.unpackbits(data["train_mask"])[: CIFAR10_TRAIN_IMAGES].astype(bool)
    mask.flags.writeable = False
    return mask


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: images (N, 3, 32, 32) in [0, 1] and labels (N,)."""
    try:
        with open(path, "rb") as handle:
            batch = RestrictedUnpickler(handle, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path} is not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from exc
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise UserError(f"{path}: expected 'data' of shape (N, 3072) and N labels, got {data.shape} and {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise UserError(f"{path}: labels outside 0..9")
    return data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0, labels


def _numpy_reconstruct() -> Callable[..., Any]:
    core = getattr(np, "_core", None) or np.core  # numpy 2 renamed numpy.core to numpy._core
    return core.multiarray._reconstruct


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and plain containers and nothing else.

    Only ``numpy.ndarray``, ``numpy.dtype``, numpy's ``_reconstruct`` (under its numpy 1 and 2
    module names) and ``codecs.encode`` (how Python 3 pickles bytes at protocol 2) resolve; any
    other global raises :class:`pickle.UnpicklingError`, so a crafted file cannot run code.
    """

    _ALLOWED: dict[tuple[str, str], Callable[[], Any]] = {
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("_codecs", "encode"): lambda: codecs.encode,
    }

    def find_class(self, module: str, name: str) -> Any:
        resolve = self._ALLOWED.get((module, name))
        if resolve is None:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name} (only numpy arrays are allowed)")
        return resolve()


def restricted_loads(data: bytes) -> Any:
    """:func:`pickle.loads` through :class:`RestrictedUnpickler` (``encoding="bytes"``, as CIFAR needs)."""
    return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()


def _standardised(
    name: str, train_x: np.ndarray, train_y: np.ndarray, valid_x: np.ndarray, valid_y: np.ndarray, num_classes: int
) -> ImageDataset:
    """Standardise both splits per channel with the train split's statistics; wrap as tensors."""
    mean = train_x.mean(axis=(0, 2, 3), keepdims=True)
    std = train_x.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    return ImageDataset(
        name=name,
        train_x=torch.from_numpy(np.ascontiguousarray((train_x - mean) / std, dtype=np.float32)),
        train_y=torch.from_numpy(np.ascontiguousarray(train_y, dtype=np.int64)),
        valid_x=torch.from_numpy(np.ascontiguousarray((valid_x - mean) / std, dtype=np.float32)),
        valid_y=torch.from_numpy(np.ascontiguousarray(valid_y, dtype=np.int64)),
        num_classes=num_classes,
    )
