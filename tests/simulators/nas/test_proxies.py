"""Zero-cost proxies of NB201 cells: determinism, orderings that must hold, degenerate cells, bad input.

Every test scores a small network (C=4, N=1, batch 8) so the module runs in seconds.
"""

import math

import numpy as np
import pytest
import torch

from archgym.simulator import SimulationError
from archgym.simulators.nas.layers import count_params, skeleton_for
from archgym.simulators.nas.model import NB201Network, count_parameters
from archgym.simulators.nas.nb201 import EDGE_NAMES, ArchError, arch_to_design, format_arch
from archgym.simulators.nas.proxies import PROXIES, ProxyScoreSimulator, get_proxy, proxy_batch, score, score_many

torch.set_num_threads(1)

SMALL = dict(channels=4, cells_per_stage=1, batch_size=8)
ALL_CONV3 = ("nor_conv_3x3",) * 6
ALL_CONV1 = ("nor_conv_1x1",) * 6
ALL_SKIP = ("skip_connect",) * 6
ALL_NONE = ("none",) * 6
MIXED = ("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3", "skip_connect")
#: every edge into the output node is ``none``: the output never sees the input
OUTPUT_CUT = ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_1x1", "none", "none", "none")


@pytest.mark.parametrize("proxy", list(PROXIES))
def test_same_seed_same_score_and_finite(proxy):
    first = score(MIXED, proxy, seed=3, **SMALL)
    assert math.isfinite(first)
    assert score(MIXED, proxy, seed=3, **SMALL) == first


@pytest.mark.parametrize("proxy", ["synflow", "snip", "grad_norm", "jacob_cov", "naswot"])
def test_seed_changes_initialisation_dependent_scores(proxy):
    assert score(MIXED, proxy, seed=0, **SMALL) != score(MIXED, proxy, seed=1, **SMALL)


def test_scoring_leaves_the_callers_random_state_and_thread_count_alone():
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    score(MIXED, "snip", num_threads=2, **SMALL)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_arch_string_and_op_tuple_score_the_same():
    assert score(format_arch(MIXED), "naswot", **SMALL) == score(MIXED, "naswot", **SMALL)


def test_params_order_conv3x3_over_conv1x1_over_parameter_free_cells():
    conv3, conv1, skip, pool = (score(ops, "params", **SMALL) for ops in (ALL_CONV3, ALL_CONV1, ALL_SKIP, ("avg_pool_3x3",) * 6))
    assert conv3 > conv1 > skip == pool
    assert conv3 == count_parameters(NB201Network.for_arch(ALL_CONV3, channels=4, cells_per_stage=1))


@pytest.mark.parametrize("dataset", ["cifar10", "ImageNet16-120"])
def test_params_at_full_size_agree_with_the_layer_table(dataset):
    assert score(MIXED, "params", dataset=dataset) == count_params(MIXED, skeleton_for(dataset))


def test_jacob_cov_matches_the_reference_numpy_formula():
    # Mellor et al. / zero-cost-nas: corrcoef of the input gradients, eigenvalues, -Σ(log(λ+k) + 1/(λ+k))
    inputs, _ = proxy_batch(8, (3, 32, 32), seed=0)
    torch.manual_seed(0)
    net = NB201Network.for_arch(MIXED, channels=4, cells_per_stage=1)
    x = inputs.clone().requires_grad_(True)
    out = net(x)
    out.backward(torch.ones_like(out))
    eigenvalues = np.linalg.eigvals(np.corrcoef(x.grad.reshape(8, -1).numpy())).real
    expected = -np.sum(np.log(eigenvalues + 1e-5) + 1.0 / (eigenvalues + 1e-5))
    assert score(MIXED, "jacob_cov", seed=0, **SMALL) == pytest.approx(expected, rel=1e-4)


def test_synflow_orders_wider_kernels_first():
    # with |θ| and an all-ones input every path adds flow; 3x3 kernels carry 9x the fan-in of 1x1
    assert score(ALL_CONV3, "synflow", **SMALL) > score(ALL_CONV1, "synflow", **SMALL) > score(ALL_SKIP, "synflow", **SMALL) > 0


@pytest.mark.parametrize("ops", [ALL_NONE, OUTPUT_CUT], ids=["all-none", "output-cut"])
def test_disconnected_cells_carry_no_signal(ops):
    assert score(ops, "synflow", **SMALL) == 0.0
    assert score(ops, "jacob_cov", **SMALL) == -math.inf
    # a cut cell still scores below a connected one on every proxy that ranks
    for proxy in ("snip", "grad_norm"):
        assert score(ops, proxy, **SMALL) < score(MIXED, proxy, **SMALL)


def _relu_units(net: torch.nn.Module, inputs: torch.Tensor) -> int:
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda m, args, out: sizes.append(args[0][0].numel()))
             for m in net.modules() if isinstance(m, torch.nn.ReLU)]
    with torch.no_grad():
        net(inputs)
    for hook in hooks:
        hook.remove()
    return sum(sizes)


def test_naswot_counts_every_relu_even_on_dead_end_edges():
    # as Mellor et al.'s code hooks every ReLU: the all-none cell leaves every code equal (|K_H| = 0),
    # while dead-end convs of a cut cell still tell the images apart
    assert score(ALL_NONE, "naswot", **SMALL) == -math.inf
    assert math.isfinite(score(OUTPUT_CUT, "naswot", **SMALL))


def test_naswot_is_bounded_by_hadamards_inequality():
    # K_H is a sum of Gram matrices whose diagonal is the number n of ReLU units, so
    # 0 < |K_H| <= n^B for a batch of B distinct codes
    inputs, _ = proxy_batch(8, (3, 32, 32))
    units = _relu_units(NB201Network.for_arch(ALL_CONV3, channels=4, cells_per_stage=1), inputs)
    assert 0 < score(ALL_CONV3, "naswot", **SMALL) <= 8 * math.log(units)


def test_the_default_batch_is_proxy_batch_and_an_explicit_batch_is_used_as_given():
    batch = proxy_batch(8, (3, 32, 32), seed=5)
    assert score(MIXED, "snip", batch=batch, channels=4, cells_per_stage=1, seed=5) == score(MIXED, "snip", seed=5, **SMALL)
    other = proxy_batch(8, (3, 32, 32), data="gaussian", seed=5)
    assert score(MIXED, "grad_norm", batch=batch, channels=4, cells_per_stage=1) != score(
        MIXED, "grad_norm", batch=other, channels=4, cells_per_stage=1
    )
    with pytest.raises(ValueError, match="ImageNet16-120 needs"):
        score(MIXED, "snip", batch=batch, dataset="ImageNet16-120", channels=4, cells_per_stage=1)


def test_default_batch_is_seeded_digits_upsampled_to_the_input_shape():
    inputs, targets = proxy_batch(6, (3, 16, 16), num_classes=10, seed=2)
    again, again_targets = proxy_batch(6, (3, 16, 16), num_classes=10, seed=2)
    assert inputs.shape == (6, 3, 16, 16) and torch.equal(inputs, again) and torch.equal(targets, again_targets)
    assert torch.equal(inputs[:, 0], inputs[:, 2])  # a grey image repeated over the channels
    assert int(targets.max()) < 10


def test_other_datasets_set_input_shape_and_classes():
    assert math.isfinite(score(MIXED, "snip", dataset="ImageNet16-120", **SMALL))
    assert score(MIXED, "params", dataset="cifar100", **SMALL) > score(MIXED, "params", dataset="cifar10", **SMALL)


def test_score_many_matches_single_scores():
    many = score_many(MIXED, ["synflow", "naswot"], **SMALL)
    assert many == {"synflow": score(MIXED, "synflow", **SMALL), "naswot": score(MIXED, "naswot", **SMALL)}


def test_bad_names_and_values_are_rejected_with_the_valid_choices():
    with pytest.raises(ValueError, match="unknown zero-cost proxy 'zen'.*synflow"):
        score(MIXED, "zen")
    with pytest.raises(ValueError, match="unknown zero-cost proxy"):
        get_proxy(["synflow"])
    with pytest.raises(ValueError, match="unknown data set 'mnist'"):
        score(MIXED, "params", dataset="mnist")
    with pytest.raises(ValueError, match="unknown proxy data source 'cifar'"):
        score(MIXED, "snip", data="cifar", **SMALL)
    with pytest.raises(ArchError):
        score(("nor_conv_3x3",) * 5, "params")
    with pytest.raises(ArchError):
        score("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "params")
    with pytest.raises(ValueError, match="num_threads"):
        score(MIXED, "params", num_threads=0)


def test_simulator_reports_declared_metrics_to_maximise():
    simulator = ProxyScoreSimulator(["synflow", "naswot"], **SMALL)
    metrics = simulator.evaluate(arch_to_design(MIXED), "cifar10")
    assert set(metrics) == set(simulator.metric_names) == {"synflow", "naswot"}
    assert all(m.goal == "maximize" for m in simulator.metrics)
    assert metrics["naswot"] == score(MIXED, "naswot", **SMALL)
    assert metrics["synflow"] == pytest.approx(math.log(score(MIXED, "synflow", **SMALL)))  # reported as ln


def test_simulator_fails_a_cell_without_signal_and_rejects_bad_configuration():
    for proxy in ("jacob_cov", "synflow"):
        with pytest.raises(SimulationError, match="passes no signal"):
            ProxyScoreSimulator(proxy, **SMALL).evaluate(arch_to_design(OUTPUT_CUT), "cifar10")
    simulator = ProxyScoreSimulator("naswot", **SMALL)
    with pytest.raises(ArchError, match=EDGE_NAMES[0]):
        simulator.evaluate({}, "cifar10")
    with pytest.raises(ValueError, match="unknown data set"):
        simulator.workload_key("mnist")
    with pytest.raises(ValueError, match="unknown zero-cost proxy"):
        ProxyScoreSimulator(["synflow", "vote"])
    with pytest.raises(ValueError, match="batch_size"):
        ProxyScoreSimulator("snip", batch_size=1)


def test_simulator_fingerprint_separates_configurations():
    base = ProxyScoreSimulator("synflow", **SMALL).fingerprint()
    assert ProxyScoreSimulator("synflow", **SMALL, num_threads=2).fingerprint() == base
    assert ProxyScoreSimulator("synflow", **{**SMALL, "channels": 8}).fingerprint() != base
    assert ProxyScoreSimulator("synflow", seed=1, **SMALL).fingerprint() != base


def test_a_proxy_scored_cell_search_env_passes_the_checkers():
    # how archgym/NASBench201-v0 serves metric=<proxy>: the cell space over the proxy simulator,
    # reward = the score normalised by the ResNet cell's
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    from archgym.env import DSEEnv
    from archgym.envs.nasbench201 import cell_design_space
    from archgym.simulators.nas.nb201 import RESNET_ARCH

    simulator = ProxyScoreSimulator("synflow", **SMALL)
    baseline = simulator.evaluate(arch_to_design(RESNET_ARCH), "cifar10")["synflow"]
    env = DSEEnv(simulator, cell_design_space(), "cifar10", reward="weighted_sum", targets={"synflow": abs(baseline)})
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env)
    env.reset(seed=0)
    _, resnet, *_ = env.step(arch_to_design(RESNET_ARCH))
    _, conv3, *_ = env.step(arch_to_design(ALL_CONV3))
    _, cut, _, _, info = env.step(arch_to_design(OUTPUT_CUT))
    assert resnet == pytest.approx(1.0) and conv3 > resnet
    assert not info["feasible"] and cut == env.objective.failure_reward
