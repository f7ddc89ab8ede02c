import json

import pytest

from archgym.cli import main, parse_assignments, UserError


def test_parse_assignments_json_values():
    assert parse_assignments(["a=1", "b=x", 'c={"k": 2}', "d=1.5"], "--x") == {"a": 1, "b": "x", "c": {"k": 2}, "d": 1.5}
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_assignments(["novalue"], "--env-arg")


def test_list_envs_and_agents(capsys):
    assert main(["list", "envs"]) == 0
    assert "archgym/DRAM-v0" in capsys.readouterr().out
    assert main(["list", "agents", "--json"]) == 0
    names = [a["name"] for a in json.loads(capsys.readouterr().out)]
    assert "random" in names


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--env", "archgym/Nope-v0", "--agent", "random", "--budget", "2"], "Nope"),
        (["run", "--env", "archgym/DRAM-v0", "--agent", "annealing", "--budget", "2"], "unknown agent 'annealing'"),
        (["run", "--env", "archgym/DRAM-v0", "--agent", "random", "--budget", "0"], "--budget"),
        (["run", "--env", "archgym/DRAM-v0", "--env-arg", "targets={\"x\": 1}", "--agent", "random", "--budget", "1"],
         "unknown metric 'x'"),
        (["dataset", "info", "/nonexistent/folder"], "nonexistent"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("archgym: error:") and message in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_simulate_dram_json_has_the_documented_keys(capsys):
    argv = ["simulate", "dram", "--trace", "stream", "--max-requests", "500", "--param", "PagePolicy=Closed", "--json"]
    assert main(argv) == 0
    metrics = json.loads(capsys.readouterr().out)
    for key in ("avg_read_latency_ns", "avg_read_latency_cycles", "bandwidth_gbps", "row_hit_rate", "energy_nj",
                "avg_power_mw", "sim_cycles", "reads", "writes"):
        assert key in metrics
    assert metrics["row_hit_rate"] == 0.0 and metrics["reads"] == 500


def test_simulate_dram_bad_knob_is_a_user_error(capsys):
    assert main(["simulate", "dram", "--trace", "stream", "--param", "PagePolicy=Sometimes"]) == 2
    assert "PagePolicy" in capsys.readouterr().err


def test_run_logs_to_dataset_and_info_reads_it(tmp_path, capsys):
    folder = tmp_path / "ds"
    argv = ["run", "--env", "archgym/DRAM-v0", "--env-arg", "max_requests=300", "--env-arg", "workload=cloud-2",
            "--agent", "random", "--budget", "6", "--seed", "3", "--dataset", str(folder), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["evaluations"] == 6 and set(result["best_design"]) >= {"PagePolicy", "Arbiter"}
    assert main(["dataset", "info", str(folder), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 6 and summary["workloads"] == ["cloud-2"] and summary["agents"] == ["random"]


def test_simulate_nas_looks_up_the_table_and_scores_proxies(capsys):
    from archgym.simulators.nas.nb201 import arch_to_design, parse_arch
    from archgym.simulators.nas.tabular import NB201Tabular

    arch = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"
    assert main(["simulate", "nas", "--arch", arch, "--device", "fpga", "--proxy", "params", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = NB201Tabular(device="fpga").evaluate(arch_to_design(parse_arch(arch)), "cifar10")
    assert out["epochs"] == 200 and out["metrics"]["valid_acc"] == expected["valid_acc"]
    assert out["metrics"]["latency_ms"] == expected["latency_ms"]
    assert out["metrics"]["params"] == pytest.approx(expected["params_m"] * 1e6, rel=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["--arch", "|conv~0|"], "expected 3"),
    (["--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--device", "tpu"], "unknown latency device 'tpu'"),
    (["--arch", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--dataset", "cifar100", "--epochs", "200"], "cifar100"),
])
def test_simulate_nas_bad_input_is_one_line(argv, message, capsys):
    assert main(["simulate", "nas", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
