"""Build ``simulators/nas/data/nb201_cifar10_split.npz``: NAS-Bench-201's own CIFAR-10 train/valid split.

Usage::

    python scripts/build_nb201_split.py CIFAR_SPLIT_TXT [--out simulators/nas/data/nb201_cifar10_split.npz]

``CIFAR_SPLIT_TXT`` is ``configs/nas-benchmark/cifar-split.txt`` of NAS-Bench-201's reference code
(https://github.com/D-X-Y/AutoDL-Projects, MIT, Xuanyi Dong): a JSON object whose ``"train"`` and
``"valid"`` entries each list 25,000 indices into CIFAR-10's 50,000 training images (data batches
1-5 concatenated in order). The benchmark's ``cifar10-valid`` results were trained on the first
half and validated on the second. The output stores the split as one packed bit per training
image (``train_mask``, 1 = NB201's train half; 6,250 bytes) plus ``meta`` (a JSON string naming
the source); the script checks that the halves are disjoint and cover all 50,000 images.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: CIFAR-10's training images (data batches 1-5)
CIFAR10_TRAIN_IMAGES = 50_000


def read_split(path: Path) -> np.ndarray:
    """The boolean train mask of the split file at ``path`` (checked: disjoint halves covering all images)."""
    raw = json.loads(path.read_text())
    halves = {}
    for name in ("train", "valid"):
        kind, values = raw[name]
        if kind != "int":
            raise ValueError(f"{path}: {name!r} holds {kind!r}, expected 'int' indices")
        halves[name] = np.array([int(v) for v in values], dtype=np.int64)
    train, valid = halves["train"], halves["valid"]
    everything = np.sort(np.concatenate([train, valid]))
    if not np.array_equal(everything, np.arange(CIFAR10_TRAIN_IMAGES)):
        raise ValueError(f"{path}: the train and valid halves must be disjoint and cover 0..{CIFAR10_TRAIN_IMAGES - 1}")
    mask = np.zeros(CIFAR10_TRAIN_IMAGES, dtype=bool)
    mask[train] = True
    return mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("split", type=Path, help="NAS-Bench-201's configs/nas-benchmark/cifar-split.txt")
    parser.add_argument("--out", type=Path, default=ROOT / "simulators" / "nas" / "data" / "nb201_cifar10_split.npz")
    args = parser.parse_args()
    mask = read_split(args.split)
    meta = {
        "source": "https://github.com/D-X-Y/AutoDL-Projects configs/nas-benchmark/cifar-split.txt (MIT, Xuanyi Dong)",
        "images": CIFAR10_TRAIN_IMAGES, "train": int(mask.sum()), "valid": int((~mask).sum()),
        "licence": "AutoDL-Projects.LICENSE",
    }
    np.savez_compressed(args.out, train_mask=np.packbits(mask), meta=np.array(json.dumps(meta)))
    print(f"wrote {args.out}: {meta['train']} train / {meta['valid']} valid images")


if __name__ == "__main__":
    main()
