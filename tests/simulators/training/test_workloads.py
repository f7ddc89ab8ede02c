"""Training workloads: GPT / ResNet-50 sizes against published figures, and the CSV format's errors."""

import pytest

from archgym.simulators.training.workloads import (
    TrainingWorkloadError,
    gpt,
    load_training_workload,
    parse_training_workload,
)

HEADER = "name,fwd_flops,params,activation_bytes,boundary_bytes,tp_split,tp_comm_bytes,repeat"


@pytest.mark.parametrize("name,published", [("gpt3-1.3b", 1.3e9), ("gpt3-2.7b", 2.7e9), ("gpt3-13b", 13.0e9)])
def test_gpt_parameter_counts_match_gpt3_table(name, published):
    # Brown et al. 2020, Table 2.1 (untied LM head adds vocab x hidden, ~0.1-0.26 B here)
    params = load_training_workload(name).params
    assert params == pytest.approx(published, rel=0.12)


def test_gpt_flops_are_six_per_parameter_per_token_plus_attention():
    wl = gpt(layers=4, hidden=1024, heads=16, seq=512, vocab=1000)
    dense = 2 * 12 * 1024**2 * 4 * 512  # 2 FLOPs per weight per token, forward
    assert wl.fwd_flops > dense
    assert wl.fwd_flops < dense * 1.3


def test_resnet50_comes_from_the_accelerator_table():
    wl = load_training_workload("resnet50")
    assert wl.params == pytest.approx(25.5e6, rel=0.03)  # torchvision resnet50: 25.6 M (no BN/bias)
    assert wl.fwd_flops == pytest.approx(2 * 4.089e9, rel=0.01)  # 4.09 GMACs per image
    assert not any(layer.tp_split for layer in wl.layers)


def test_gpt_spec_string():
    wl = load_training_workload("gpt:layers=2,hidden=256,heads=4,seq=128,vocab=1000,batch=64,micro_batch=2")
    assert (wl.global_batch, wl.micro_batch, wl.heads) == (64, 2, 4)
    assert len(wl.layers) == 2 * 2 + 2
    with pytest.raises(TrainingWorkloadError, match="bad GPT spec item 'depth=2'"):
        load_training_workload("gpt:depth=2")
    with pytest.raises(TrainingWorkloadError, match="not divisible by heads"):
        gpt(hidden=100, heads=3)


def test_unknown_workload_lists_builtins():
    with pytest.raises(TrainingWorkloadError, match="unknown training workload 'bert'.*gpt3-1.3b"):
        load_training_workload("bert")


def test_csv_round_trip(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text(f"# a tiny model\n# global_batch: 32\n# micro_batch: 4\n{HEADER}\n"
                    "a,1e9,1e6,2e5,1e5,1,1e5,3\nb,2e9,0,0,1e5,0,0,\n")
    wl = load_training_workload(path)
    assert [layer.name for layer in wl.layers] == ["a", "a", "a", "b"]
    assert wl.global_batch == 32 and wl.micro_batch == 4 and wl.heads is None
    assert wl.layers[3].tp_split is False


@pytest.mark.parametrize(
    "body,match",
    [
        ("a,1e9,1e6,2e5,1e5,1,1e5\n", r"tiny.csv:5: expected 8 fields, got 7"),
        ("a,lots,1e6,2e5,1e5,1,1e5,1\n", r"tiny.csv:5: fwd_flops must be a number, got 'lots'"),
        ("a,1e9,-1,2e5,1e5,1,1e5,1\n", r"tiny.csv:5: params must be finite and >= 0"),
        ("a,1e9,1e6,2e5,1e5,yes,1e5,1\n", r"tiny.csv:5: tp_split must be 0 or 1"),
        ("a,1e9,1e6,2e5,1e5,1,1e5,0\n", r"tiny.csv:5: repeat must be a positive integer"),
        (",1e9,1e6,2e5,1e5,1,1e5,1\n", r"tiny.csv:5: empty layer name"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, body, match):
    path = tmp_path / "tiny.csv"
    path.write_text(f"# global_batch: 32\n# micro_batch: 4\n\n{HEADER}\n{body}")
    with pytest.raises(TrainingWorkloadError, match=match):
        load_training_workload(path)


def test_header_and_metadata_errors():
    with pytest.raises(TrainingWorkloadError, match="w.csv:1: header must have columns.*missing \\['tp_split'\\]"):
        parse_training_workload("name,fwd_flops,params,activation_bytes,boundary_bytes,tp_comm_bytes\n", "w.csv")
    with pytest.raises(TrainingWorkloadError, match="missing metadata line '# micro_batch: N'"):
        parse_training_workload(f"# global_batch: 8\n{HEADER}\na,1,1,1,1,1,1,1\n", "w.csv")
    with pytest.raises(TrainingWorkloadError, match="w.csv:1: global_batch must be an integer"):
        parse_training_workload(f"# global_batch: many\n{HEADER}\n", "w.csv")
