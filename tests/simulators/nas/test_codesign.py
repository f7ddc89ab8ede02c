"""The co-design simulator: the cell's network costed by an accelerator back-end, accuracy from the table."""

import pytest

from archgym.simulator import SimulationError
from archgym.simulators.accelerator import BASELINE_DESIGN, AnalyticalAccelerator
from archgym.simulators.nas.codesign import NETWORK_METRICS, CoDesignSimulator
from archgym.simulators.nas.layers import network_workload, skeleton_for
from archgym.simulators.nas.nb201 import RESNET_ARCH, ArchError, arch_to_design
from archgym.simulators.nas.tabular import NB201Tabular

DESIGN = {**arch_to_design(RESNET_ARCH), **BASELINE_DESIGN}


@pytest.mark.parametrize("dataset", ["cifar10", "ImageNet16-120"])
def test_metrics_combine_the_table_and_the_accelerator(dataset):
    sim = CoDesignSimulator()
    metrics = sim.evaluate(DESIGN, dataset)
    table = NB201Tabular(epochs=200 if dataset == "cifar10" else 12).lookup(RESNET_ARCH, dataset)
    hardware = AnalyticalAccelerator().evaluate(BASELINE_DESIGN, network_workload(RESNET_ARCH, skeleton_for(dataset)))
    assert metrics == {**{m: table[m] for m in NETWORK_METRICS}, **hardware}
    assert set(metrics) == set(sim.metric_names)


def test_smaller_network_and_bigger_array_are_faster():
    sim = CoDesignSimulator()
    base = sim.evaluate(DESIGN, "cifar10")
    light = sim.evaluate({**DESIGN, "edge_1_0": "nor_conv_1x1", "edge_2_1": "nor_conv_1x1"}, "cifar10")
    wide = sim.evaluate({**DESIGN, "pe_rows": 32, "pe_cols": 32}, "cifar10")
    assert light["latency_ms"] < base["latency_ms"] and light["energy_uj"] < base["energy_uj"]
    assert light["area_mm2"] == base["area_mm2"] < wide["area_mm2"]
    assert wide["latency_ms"] < base["latency_ms"]


def test_epochs_option_and_fingerprint():
    twelve = CoDesignSimulator(epochs=12)
    assert twelve.evaluate(DESIGN, "cifar10")["valid_acc"] == NB201Tabular(epochs=12).lookup(RESNET_ARCH)["valid_acc"]
    assert twelve.fingerprint() != CoDesignSimulator().fingerprint()
    assert "accelerator-analytical" in twelve.fingerprint()
    with pytest.raises(ValueError, match="no 200-epoch results for 'cifar100'"):
        CoDesignSimulator(epochs=200).workload_key("cifar100")
    with pytest.raises(ValueError, match="epochs must be 200, 12 or None"):
        CoDesignSimulator(epochs=1)


def test_bad_designs():
    sim = CoDesignSimulator()
    with pytest.raises(ArchError, match="unknown co-design parameter.*'pe_depth'"):
        sim.evaluate({**DESIGN, "pe_depth": 3}, "cifar10")



class RejectingAcceleratorMock(AnalyticalAccelerator):
    """Test double: a back-end that cannot map any design."""

    def simulate(self, design, workload):
        raise SimulationError(f"mock: cannot map {workload.name}")


def test_backend_failures_pass_through():
    with pytest.raises(SimulationError, match="mock: cannot map nb201-32px-10cls"):
        CoDesignSimulator(RejectingAcceleratorMock()).evaluate(DESIGN, "cifar10")


def test_every_design_maps_on_the_analytical_backend():
    """The smallest RF (16 B) holds a 3x3 window and the smallest GLB (32 KiB) a row of the
    widest layer, so no co-design is infeasible with the analytical model (unlike ResNet-18's
    7x7 stem on Accelerator-v0)."""
    sim = CoDesignSimulator()
    corner = {**arch_to_design(("nor_conv_3x3",) * 6), **BASELINE_DESIGN, "rf_bytes": 16, "glb_kib": 32,
              "glb_banks": 1, "noc_bw": 8, "dram_bw": 4}
    for dataflow in ("weight_stationary", "output_stationary", "input_stationary"):
        assert sim.evaluate({**corner, "dataflow": dataflow}, "cifar10")["latency_ms"] > 0


def test_batch_equals_one_by_one():
    import numpy as np

    from archgym.envs.codesign import codesign_design_space

    space, rng = codesign_design_space(), np.random.default_rng(0)
    designs = [space.sample(rng) for _ in range(40)]
    sim = CoDesignSimulator()
    assert sim.evaluate_batch(designs, "cifar100") == [sim.evaluate(d, "cifar100") for d in designs]
