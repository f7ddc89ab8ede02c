"""Proxies are trained and scored on rows of one setup; a mixture is refused naming what differs."""

import pytest

from archgym.dataset import MixedSetupsError, load, setup_table
from archgym.proxy import evaluate_proxy, train_proxy
from archgym.runner import run_agent

ENV = "archgym/Synthetic-v0"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed")
    for function_seed in (1, 2):
        run_agent(ENV, "random", 40, seed=0, env_kwargs={"function_seed": function_seed}, dataset=folder)
    return folder


def test_training_on_mixed_setups_is_refused_and_setup_picks_one(mixed):
    with pytest.raises(MixedSetupsError) as error:
        train_proxy(mixed, ENV, kind="rf", model_params={"n_estimators": 5})
    assert "env_kwargs.function_seed" in str(error.value) and "--setup" in str(error.value)
    setups = setup_table(load(mixed))
    first = setups.loc[setups["env_kwargs"].str.contains('"function_seed":1'), "setup"].item()
    proxy = train_proxy(mixed, ENV, setup=first, kind="rf", model_params={"n_estimators": 5},
                        env_kwargs={"function_seed": 1})
    assert proxy.source.setup == first and '"function_seed":1' in proxy.source.env_kwargs


def test_scoring_on_rows_of_another_setup_is_refused(mixed, tmp_path):
    rows = load(mixed)
    table = setup_table(rows)
    proxy = train_proxy(rows[rows["setup"] == table["setup"][0]], ENV, kind="rf", model_params={"n_estimators": 5})
    other = rows[rows["setup"] == table["setup"][1]]
    with pytest.raises(MixedSetupsError, match="env_kwargs.function_seed"):
        evaluate_proxy(proxy, other)
    saved = type(proxy).load(proxy.save(tmp_path / "p.proxy"))
    assert saved.source == proxy.source
    with pytest.raises(MixedSetupsError, match="simulator_fingerprint"):
        evaluate_proxy(saved, other)
    assert evaluate_proxy(saved, rows)["rows"] == 40  # only the proxy's own setup is scored
