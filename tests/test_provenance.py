"""Provenance: every row says how it was produced; consumers refuse rows of several setups."""

import json
import shutil
from pathlib import Path

import gymnasium as gym
import pyarrow.parquet as pq
import pytest

from archgym.dataset import (
    LEGACY_SETUP,
    SCHEMA_VERSION,
    DatasetWriter,
    MixedSetupsError,
    info,
    load,
    require_one_setup,
    setup_table,
)
from archgym.env import DSEEnv
from archgym.recording import RecordEvaluations, canonical_env_kwargs
from archgym.runner import run_agent

SCHEMA1 = Path(__file__).parent / "data" / "dataset_schema1"
ENV = "archgym/Synthetic-v0"


def test_rows_record_kwargs_fingerprint_workload_key_objective_and_version(tmp_path):
    run_agent(ENV, "random", 5, seed=0, env_kwargs={"function_seed": 3, "targets": {"cost": 2.0}}, dataset=tmp_path)
    df = load(tmp_path)
    assert set(df["schema_version"]) == {SCHEMA_VERSION} and SCHEMA_VERSION >= 2
    kwargs = json.loads(df["env_kwargs"].iloc[0])
    assert kwargs["function_seed"] == 3 and kwargs["targets"] == {"cost": 2.0}
    assert "n_categorical" in kwargs  # defaults filled in
    objective = json.loads(df["objective"].iloc[0])
    assert objective["name"] == "normalized_excess" and objective["targets"] == {"cost": 2.0}
    assert objective["senses"] == {"cost": "minimize"} and objective["weights"] == {"cost": 1.0}
    env = gym.make(ENV, function_seed=3)
    assert set(df["simulator_fingerprint"]) == {env.unwrapped.simulator.fingerprint()}
    assert set(df["workload_key"]) == {env.unwrapped.workload_key}
    import archgym

    assert set(df["archgym_version"]) == {archgym.__version__}
    assert df["setup"].nunique() == 1 and df["setup"].str.fullmatch(r"[0-9a-f]{16}").all()


def test_defaults_given_explicitly_are_the_same_setup_and_any_change_is_another():
    spec_default = gym.make(ENV).spec
    spec_explicit = gym.make(ENV, function_seed=0, cache=False).spec
    assert canonical_env_kwargs(spec_default) == canonical_env_kwargs(spec_explicit)  # cache is runtime-only
    assert canonical_env_kwargs(gym.make(ENV, function_seed=1).spec) != canonical_env_kwargs(spec_default)


def test_new_design_marks_repeats_within_a_run(simulator, space, tmp_path):
    env = DSEEnv(simulator, space, "light", targets={"cost": 2.0})
    good, other = {"mode": "fast", "size": 10, "buffer": 16}, {"mode": "slow", "size": 3, "buffer": 4}
    with DatasetWriter(tmp_path) as writer:
        logged = RecordEvaluations(env, writer, run="r1")
        for design in (good, other, good, good, other):
            logged.step(design)
        again = RecordEvaluations(env, writer, run="r2")  # a new run starts with nothing seen
        again.step(good)
    df = load(tmp_path).sort_values(["run", "step"])
    assert df["new_design"].tolist() == [True, True, False, False, False, True]


def _mixed_dataset(tmp_path):
    run_agent(ENV, "random", 6, seed=0, env_kwargs={"function_seed": 1}, dataset=tmp_path)
    run_agent(ENV, "random", 4, seed=0, env_kwargs={"function_seed": 2}, dataset=tmp_path)
    return load(tmp_path)


def test_a_mixture_is_refused_naming_the_differing_fields(tmp_path):
    df = _mixed_dataset(tmp_path)
    with pytest.raises(MixedSetupsError) as error:
        require_one_setup(df, "the study's rows")
    message = str(error.value)
    assert "mix 2 setups" in message and "env_kwargs.function_seed" in message and "simulator_fingerprint" in message
    assert "env_kwargs.n_categorical" not in message  # equal fields are not listed
    assert "6 rows" in message and "4 rows" in message
    table = setup_table(df)
    assert table["rows"].tolist() == [6, 4] and table["runs"].tolist() == [1, 1]
    assert require_one_setup(df[df["setup"] == table["setup"][1]]) == table["setup"][1]


def test_schema1_shards_still_load_and_form_their_own_setup(tmp_path):
    shutil.copytree(SCHEMA1, tmp_path / "d")
    folder = tmp_path / "d"
    old = load(folder)
    assert len(old) == 12 and set(old["schema_version"]) == {1} and old["setup"].isna().all()
    assert require_one_setup(old) == LEGACY_SETUP
    run_agent(ENV, "random", 3, seed=0, dataset=folder)
    both = load(folder)
    assert sorted(both["schema_version"].unique()) == [1, SCHEMA_VERSION] and len(both) == 15
    assert both["new_design"].isna().sum() == 12
    with pytest.raises(MixedSetupsError, match="not recorded: schema 1"):
        require_one_setup(both)
    summary = info(folder)
    assert summary.rows == 15 and sorted(s["setup"] for s in summary.setups)[-1] == LEGACY_SETUP
    assert len(summary.setups) == 2 and "setup unrecorded: 12 rows" in summary.to_text()


def test_info_lists_setups(tmp_path):
    _mixed_dataset(tmp_path)
    summary = info(tmp_path)
    assert [s["rows"] for s in summary.setups] == [6, 4]
    text = summary.to_text()
    assert "setups:          2" in text and '"function_seed":2' in text
    assert json.dumps(summary.to_dict(), default=str)  # JSON-serialisable


def test_info_does_not_count_a_shard_with_corrupt_data_as_readable(tmp_path):
    run_agent(ENV, "random", 40, seed=0, dataset=tmp_path)
    run_agent(ENV, "random", 30, seed=1, dataset=tmp_path)
    shards = sorted(tmp_path.glob("part-*.parquet"), key=lambda p: pq.read_metadata(p).num_rows)
    victim = shards[0]  # the 30-row shard
    meta = pq.read_metadata(victim)
    column = meta.row_group(0).column(meta.schema.names.index("metric.cost"))
    data = bytearray(victim.read_bytes())
    middle = column.data_page_offset + column.total_compressed_size // 2
    for i in range(middle, middle + 8):
        data[i] ^= 0x5A  # footer intact, a data page damaged
    victim.write_bytes(bytes(data))
    summary = info(tmp_path)
    assert summary.rows == 40 and summary.shards == 1
    assert victim.name in summary.bad_files and "data" in summary.bad_files[victim.name]
    with pytest.warns(UserWarning, match=victim.name):
        assert len(load(tmp_path, on_error="warn")) == 40
