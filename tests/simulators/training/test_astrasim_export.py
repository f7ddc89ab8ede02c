"""The ASTRA-sim export: traces that say what the step model assumes (no ASTRA-sim or protobuf needed)."""

from collections import Counter

import pytest

from archgym.simulator import SimulationError
from archgym.simulators.training.astrasim import export_design, matching_simulator, parse_finish_times, rank_nodes

DESIGN = dict(shape="4x4x4", kind0="Ring", kind1="Switch", kind2="Switch", bw0=200, bw1=100, bw2=50,
              alg0="ring", alg1="halvingDoubling", alg2="direct", chunks=8, tp=4, pp=2)
SMALL_GPT = "gpt:layers=4,hidden=1024,heads=16,seq=1024,batch=64"


@pytest.fixture(scope="module")
def sim():
    return matching_simulator(npus=64)


def test_network_splits_the_cut_switch_dimension(sim):
    inputs = export_design(sim, DESIGN, SMALL_GPT)
    # TP = 4 fills the ring; PP = 2 cuts the first 4-switch into 2 x 2; DP = 8 takes 2 x 4
    assert inputs.network["topology"] == ["Ring", "Switch", "Switch", "Switch"]
    assert inputs.network["npus_count"] == [4, 2, 2, 4]
    assert inputs.network["bandwidth"] == [200.0, 100.0, 100.0, 50.0]
    assert inputs.tp_dims == (True, False, False, False) and inputs.dp_dims == (False, False, True, True)
    assert inputs.system["all-reduce-implementation"] == ["ring", "halvingDoubling", "halvingDoubling", "direct"]
    assert inputs.system["preferred-dataset-splits"] == 8 and inputs.system["roofline-enabled"] == 1
    assert (inputs.tp, inputs.pp, inputs.dp, inputs.micro_batches) == (4, 2, 8, 8)
    assert "npus_count: [ 4, 2, 2, 4 ]" in inputs.network_yaml()


def test_every_rank_is_one_chain_with_matching_transfers(sim):
    inputs = export_design(sim, DESIGN, SMALL_GPT)
    sends, recvs = Counter(), Counter()
    total = 0
    for rank in range(inputs.npus):
        nodes = list(rank_nodes(inputs, rank))
        total += len(nodes)
        assert [n.id for n in nodes] == list(range(len(nodes)))
        assert all(n.deps == ((n.id - 1,) if n.id else ()) for n in nodes)
        for n in nodes:
            a = dict(n.attrs)
            if n.kind == "COMM_SEND_NODE":
                sends[(a["comm_src"], a["comm_dst"], a["comm_tag"], a["comm_size"])] += 1
            elif n.kind == "COMM_RECV_NODE":
                recvs[(a["comm_src"], a["comm_dst"], a["comm_tag"], a["comm_size"])] += 1
            elif n.kind == "COMM_COLL_NODE":
                assert len(a["involved_dim"]) == len(inputs.network["topology"])
    assert sends == recvs and sends  # every send has its receive, same size and tag
    assert total == inputs.node_count()


def test_compute_nodes_carry_the_stage_flops(sim):
    """Forward + backward num_ops of a stage = 3 x its forward FLOPs per micro-batch x micro-batches."""
    inputs = export_design(sim, dict(DESIGN, pp=1, tp=1, kind0="Switch"), "resnet50")
    ops = sum(dict(n.attrs)["num_ops"] for n in rank_nodes(inputs, 0) if n.kind == "COMP_NODE")
    stage = inputs.stages[0]
    assert ops == 3 * sum(max(f, 1) for f in stage.flops) * inputs.micro_batches
    kinds = Counter(n.kind for n in rank_nodes(inputs, 0))
    assert kinds["COMM_COLL_NODE"] == 1  # only the DP gradient all-reduce (ResNet-50 has no TP)
    assert kinds["COMM_SEND_NODE"] == kinds["COMM_RECV_NODE"] == 0


def test_infeasible_designs_are_refused_with_the_simulators_reason(sim):
    with pytest.raises(SimulationError, match="attention heads"):
        export_design(sim, dict(DESIGN, tp=32, shape="32x2", pp=1), "gpt3-1.3b")


def test_parse_finish_times():
    text = "[x] [workload] [info] sys[0] finished, 120 cycles, exposed communication 5 cycles.\n" \
           "[x] [workload] [info] sys[1] finished, 130 cycles, exposed communication 7 cycles."
    assert parse_finish_times(text) == {0: 120, 1: 130}
