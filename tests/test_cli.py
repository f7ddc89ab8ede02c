import json

import gymnasium as gym
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


def test_simulate_dram_kernels_print_the_same_metrics(capsys):
    outputs = []
    for kernel in ("python", "compiled"):
        argv = ["simulate", "dram", "--trace", "cloud-1", "--max-requests", "120", "--kernel", kernel, "--json"]
        assert main(argv) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["reads"] > 0
    with pytest.raises(SystemExit):
        main(["simulate", "dram", "--trace", "stream", "--kernel", "fast"])
    assert "invalid choice: 'fast'" in capsys.readouterr().err


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


# -- issue 10: user errors vs bugs, non-finite values, proxy files, report folder -----------------
@pytest.mark.parametrize("option", ["--agent-arg", "--env-arg", "--param"])
@pytest.mark.parametrize("raw", ["Infinity", "-Infinity", "NaN", "1e400", "-1e400", "[1, NaN]", '{"a": 1e999}', "inf", "nan"])
def test_non_finite_values_are_refused_in_one_line(option, raw):
    with pytest.raises(UserError, match=rf"{option} x=.*is not a finite number"):
        parse_assignments([f"x={raw}"], option)


def test_non_finite_value_on_the_command_line_exits_2(capsys):
    argv = ["run", "--env", "archgym/Synthetic-v0", "--agent", "ga", "--agent-arg", "mutation_prob=1e400", "--budget", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "not a finite number" in err and len(err.splitlines()) == 1


def test_finite_values_and_plain_text_still_parse():
    assert parse_assignments(["a=1e300", "b=-2", "c=[1, 2.5]", "d=information", "e=nano"], "--x") == {
        "a": 1e300, "b": -2, "c": [1, 2.5], "d": "information", "e": "nano"}


def test_user_error_is_a_value_error():
    from archgym.errors import UserError as Canonical

    assert UserError is Canonical and issubclass(UserError, ValueError)


def test_internal_errors_are_not_disguised_as_user_errors(monkeypatch):
    """A ValueError/KeyError/TypeError from inside archgym is a bug: it propagates (traceback)."""
    import archgym.cli as cli

    for exc in (ValueError("internal"), KeyError("internal"), TypeError("internal")):
        def boom(args, exc=exc):
            raise exc

        monkeypatch.setattr(cli, "cmd_describe", boom)
        with pytest.raises(type(exc), match="internal"):
            cli.main(["describe", "archgym/Synthetic-v0"])


def test_debug_shows_the_traceback_of_a_user_error(capsys):
    assert main(["--debug", "run", "--env", "archgym/Synthetic-v0", "--agent", "annealing", "--budget", "2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("archgym: error: unknown agent 'annealing'")


@pytest.mark.parametrize("report", ["same", "inside"])
def test_lottery_refuses_a_report_folder_in_the_dataset_before_running(tmp_path, capsys, report):
    dataset = tmp_path / "ds"
    target = dataset if report == "same" else dataset / "report"
    argv = ["lottery", "--env", "archgym/Synthetic-v0", "--agents", "ga", "--budget", "3", "--draws", "1", "--seeds", "1",
            "--dataset", str(dataset), "--report", str(target), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "--report" in err and "dataset folder" in err and len(err.splitlines()) == 1
    assert not dataset.exists()  # refused up front: nothing ran


def test_run_refuses_a_simulator_that_is_not_a_file(tmp_path, capsys):
    argv = ["run", "--env", "archgym/NASBench201-v0", "--env-arg", f"simulator={tmp_path / 'missing.proxy'}",
            "--agent", "random", "--budget", "2"]
    assert main(argv) == 2
    assert "expected a proxy file" in capsys.readouterr().err


def test_run_refuses_a_file_that_is_not_a_proxy(tmp_path, capsys):
    bogus = tmp_path / "bogus.proxy"
    bogus.write_text("not a zip")
    argv = ["run", "--env", "archgym/NASBench201-v0", "--env-arg", f"simulator={bogus}", "--agent", "random", "--budget", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "not an archgym proxy file" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_run_an_agent_on_a_proxy_file(tmp_path, capsys):
    """``--env-arg simulator=FILE`` loads a proxy written by ``archgym proxy train`` and runs on it."""
    dataset, model = tmp_path / "ds", tmp_path / "nb.proxy"
    assert main(["run", "--env", "archgym/NASBench201-v0", "--agent", "random", "--budget", "80", "--seed", "1",
                 "--dataset", str(dataset), "--no-progress"]) == 0
    assert main(["proxy", "train", "--dataset", str(dataset), "--env", "archgym/NASBench201-v0", "--model", "rf",
                 "--param", "n_estimators=10", "--metric", "valid_acc", "--metric", "latency_ms", "--metric", "flops_m",
                 "--metric", "params_m", "--metric", "test_acc", "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["run", "--env", "archgym/NASBench201-v0", "--env-arg", f"simulator={model}", "--agent", "ga",
                 "--budget", "20", "--json", "--no-progress"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["evaluations"] == 20
    assert 0 < result["best_metrics"]["valid_acc"] <= 100  # predicted by the proxy


def test_list_agents_shows_metadata(capsys):
    assert main(["list", "agents", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["ppo"]["extra"] == "rl" and rows["ppo"]["family"] == "reinforcement learning"
    assert rows["ga"]["extra"] is None and rows["ga"]["reference"]


def test_describe_and_list_envs_details(capsys):
    assert main(["describe", "archgym/NASBench201-v0", "--env-arg", "epochs=12", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["design_space_size"] == 15625 and data["reward"] == "normalized_excess"
    assert "train_time_s" not in {m["name"] for m in data["metrics"]}  # 12-epoch tables have no training metrics
    assert main(["list", "envs", "--details", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["archgym/Synthetic-v0"]["details"]["targets"] == {"cost": 1.0}
    assert main(["describe", "archgym/Nope-v0"]) == 2
    assert "unknown env 'archgym/Nope-v0'" in capsys.readouterr().err


def test_list_envs_details_with_an_env_registered_without_metadata(capsys):
    from archgym import registration

    registration.register("archgym/NoMetadataTest-v0", entry_point="archgym.env:DSEEnv", max_episode_steps=3,
                          description="test double")
    try:
        assert main(["list", "envs", "--details"]) == 0
        assert "registered without static metadata" in capsys.readouterr().out
    finally:
        registration._CATALOGUE.pop("archgym/NoMetadataTest-v0")
        gym.registry.pop("archgym/NoMetadataTest-v0")
