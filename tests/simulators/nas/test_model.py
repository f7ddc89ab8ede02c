"""The torch NAS-Bench-201 network: parameter counts, selections, and the supernet's weight sharing."""

import pytest
import torch

from archgym.simulators.nas.model import EDGES, OP_NAMES, HardChoice, NB201Network, count_parameters, selection_for

torch.set_num_threads(1)


def test_largest_cell_has_nasbench201s_parameter_count():
    # NAS-Bench-201 reports 1.53 M parameters for the all-conv3x3 cell on CIFAR-10 (the space's maximum).
    assert count_parameters(NB201Network.for_arch(["nor_conv_3x3"] * 6)) == 1_531_546


def test_parameter_free_cells_share_the_skeleton_count():
    skeleton = count_parameters(NB201Network.for_arch(["none"] * 6))
    assert count_parameters(NB201Network.for_arch(["skip_connect", "avg_pool_3x3"] * 3)) == skeleton
    # each 1x1 conv edge adds C*C weights + 2C BN parameters per cell at every width
    one_conv = count_parameters(NB201Network.for_arch(["nor_conv_1x1"] + ["none"] * 5))
    assert one_conv - skeleton == 5 * sum(c * c + 2 * c for c in (16, 32, 64))


def test_supernet_single_path_equals_the_standalone_network_with_the_same_weights():
    torch.manual_seed(0)
    ops = ["nor_conv_3x3", "skip_connect", "avg_pool_3x3", "none", "nor_conv_1x1", "nor_conv_3x3"]
    supernet = NB201Network.supernet(channels=4, cells_per_stage=1).eval()
    standalone = NB201Network.for_arch(ops, channels=4, cells_per_stage=1).eval()
    index = selection_for(ops)
    state = {}
    for key, value in supernet.state_dict().items():
        parts = key.split(".")
        if "edges" in parts:  # blocks.<b>.edges.<e>.<candidate>.… -> candidate 0 in the stand-alone net
            at = parts.index("edges")
            edge, candidate = int(parts[at + 1]), int(parts[at + 2])
            if candidate != index[edge]:
                continue
            parts[at + 2] = "0"
        state[".".join(parts)] = value
    standalone.load_state_dict(state)
    x = torch.randn(3, 3, 16, 16)
    torch.testing.assert_close(supernet(x, index), standalone(x))


def test_one_hot_weights_equal_the_single_path():
    torch.manual_seed(1)
    supernet = NB201Network.supernet(channels=4, cells_per_stage=1).eval()
    index = [3, 1, 2, 0, 4, 3]
    weights = list(torch.nn.functional.one_hot(torch.tensor(index), len(OP_NAMES)).float())
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(supernet(x, weights), supernet(x, index))


def _straight_through(index: list[int]) -> tuple[torch.Tensor, list[HardChoice]]:
    """Logits and GDAS-style straight-through one-hot choices of ``index`` built from them."""
    logits = torch.randn(len(EDGES), len(OP_NAMES), requires_grad=True)
    soft = torch.softmax(logits, 1)
    hard = torch.nn.functional.one_hot(torch.tensor(index), len(OP_NAMES)).float() - soft.detach() + soft
    return logits, [HardChoice(w, i) for w, i in zip(hard, index)]


def test_hard_choice_computes_only_the_chosen_op_and_keeps_every_gradient():
    torch.manual_seed(2)
    supernet = NB201Network.supernet(channels=4, cells_per_stage=1).eval()
    index = [3, 1, 0, 2, 4, 3]
    logits, choices = _straight_through(index)
    calls: dict[tuple[int, int], int] = {}
    for cell in (b for b in supernet.blocks if hasattr(b, "edges")):
        for e, ops in enumerate(cell.edges):
            for c, op in enumerate(ops):
                op.register_forward_hook(lambda *_, key=(e, c): calls.__setitem__(key, calls.get(key, 0) + 1))
    x = torch.randn(2, 3, 8, 8)
    out = supernet(x, choices)
    assert calls == {(e, i): 3 for e, i in enumerate(index)}  # one call per cell (3 stages x 1 cell), nothing else
    torch.testing.assert_close(out, supernet(x, index))  # same value as the single path
    out.square().sum().backward()
    assert torch.isfinite(logits.grad).all() and (logits.grad != 0).all()  # unsampled ops get gradients too


def test_bad_hard_choice_is_named():
    with pytest.raises(ValueError, match="index must be an integer in \\[0, 5\\), got 5"):
        HardChoice(torch.zeros(5), 5)
    with pytest.raises(ValueError, match="1-D tensor"):
        HardChoice(torch.zeros(2, 5), 0)
    with pytest.raises(ValueError, match="shape \\(5,\\)"):
        supernet = NB201Network.supernet(channels=4, cells_per_stage=1)
        supernet(torch.randn(1, 3, 8, 8), [HardChoice(torch.zeros(4), 0)] * 6)


def test_all_none_cell_outputs_a_constant_prediction():
    net = NB201Network.for_arch(["none"] * 6, channels=4, cells_per_stage=1, in_channels=1).eval()
    out = net(torch.randn(5, 1, 8, 8))
    assert out.shape == (5, 10)
    torch.testing.assert_close(out, out[:1].expand_as(out))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="conv_5x5"):
        NB201Network.for_arch(["conv_5x5"] + ["none"] * 5)
    with pytest.raises(ValueError, match="6 edge ops"):
        NB201Network.for_arch(["none"] * 5)
    with pytest.raises(ValueError, match="channels"):
        NB201Network.supernet(channels=0)
    with pytest.raises(ValueError, match="selection"):
        NB201Network.supernet(channels=4, cells_per_stage=1)(torch.randn(1, 3, 8, 8))
    assert len(EDGES) == 6
