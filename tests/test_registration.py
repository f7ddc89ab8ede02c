"""Registration in any namespace, refusal of conflicting re-registration, static metadata, render_mode."""

import uuid

import gymnasium as gym
import pytest

import archgym
from archgym.envs.synthetic import SyntheticEnv
from archgym.errors import MissingExtraError, UserError, import_optional
from archgym.registration import EnvMetadata, list_envs, register, spec_metadata


_REGISTERED: list[str] = []


def _unique(namespace: str | None) -> str:
    name = f"Test{uuid.uuid4().hex[:8]}-v0"
    env_id = f"{namespace}/{name}" if namespace else name
    _REGISTERED.append(env_id)
    return env_id


@pytest.fixture(autouse=True)
def _forget_test_ids():
    """Ids registered by a test leave both registries afterwards (other tests list every id)."""
    yield
    from archgym import registration

    while _REGISTERED:
        env_id = _REGISTERED.pop()
        registration._CATALOGUE.pop(env_id, None)
        gym.registry.pop(env_id, None)


@pytest.mark.parametrize("namespace", ["mylab", None])
def test_register_in_any_namespace(namespace):
    env_id = _unique(namespace)
    register(env_id, entry_point="archgym.envs.synthetic:SyntheticEnv", max_episode_steps=5, description="test",
             metadata="archgym.envs.synthetic:metadata")
    assert env_id in {e.id for e in list_envs()}
    env = gym.make(env_id)
    assert env.spec.max_episode_steps == 5 and isinstance(env.unwrapped, SyntheticEnv)
    assert spec_metadata(env_id).design_space == env.unwrapped.design_space


def test_reregistration_same_entry_point_is_a_noop_other_entry_point_an_error():
    env_id = _unique("mylab")
    register(env_id, entry_point="archgym.envs.synthetic:SyntheticEnv", max_episode_steps=5, description="a")
    register(env_id, entry_point="archgym.envs.synthetic:SyntheticEnv", max_episode_steps=5, description="a")
    with pytest.raises(UserError, match="already registered"):
        register(env_id, entry_point="archgym.envs.dram:DRAMEnv", max_episode_steps=5, description="b")
    assert gym.spec(env_id).entry_point == "archgym.envs.synthetic:SyntheticEnv"


def test_an_id_registered_with_gymnasium_directly_is_not_replaced():
    env_id = _unique("other")
    gym.register(env_id, entry_point="archgym.envs.synthetic:SyntheticEnv")
    with pytest.raises(UserError, match="gymnasium"):
        register(env_id, entry_point="archgym.envs.dram:DRAMEnv", max_episode_steps=5, description="b")


def test_archgym_reimport_does_not_raise():
    import importlib

    import archgym.envs

    importlib.reload(archgym.envs)  # same entry points: no-op


@pytest.mark.parametrize("entry", list_envs(), ids=lambda e: e.id)
def test_every_archgym_env_has_static_metadata(entry):
    if not entry.id.startswith("archgym/"):
        pytest.skip("registered by another test")
    try:
        meta = entry.metadata()
    except MissingExtraError as exc:  # e.g. Supernet-v0 without torch
        pytest.skip(str(exc))
    assert isinstance(meta, EnvMetadata)
    names = {m.name for m in meta.metrics}
    assert set(meta.observed_metrics) <= names and set(meta.targets) <= names
    assert len(meta.design_space) > 0


def test_metadata_never_constructs_the_env(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("the env was constructed")

    monkeypatch.setattr(SyntheticEnv, "__init__", refuse)
    assert spec_metadata("archgym/Synthetic-v0").targets == {"cost": 1.0}


@pytest.mark.parametrize("env_id, kwargs", [
    ("archgym/Synthetic-v0", {"n_integer": 2, "n_values": 3}),
    ("archgym/NASBench201-v0", {"dataset": "cifar100"}),
    ("archgym/Accelerator-v0", {}),
    ("archgym/DRAM-v0", {"max_requests": 50}),
    ("archgym/CoDesign-v0", {}),
])
def test_metadata_matches_the_constructed_env(env_id, kwargs):
    meta = spec_metadata(env_id, **kwargs)
    env = gym.make(env_id, **kwargs).unwrapped
    assert meta.design_space == env.design_space
    assert meta.metrics == tuple(env.simulator.metrics)
    assert meta.observed_metrics == env.observed_metrics
    assert set(meta.targets) == set(env.objective.targets)
    assert {k: v for k, v in meta.targets.items() if not isinstance(v, str)} == \
        {k: v for k, v in env.objective.targets.items() if not isinstance(meta.targets[k], str)}


def test_unknown_env_metadata_is_a_user_error():
    with pytest.raises(UserError, match="unknown env"):
        spec_metadata("archgym/Nope-v0")


# -- render_mode ----------------------------------------------------------------------------------
def test_render_mode_none_is_accepted_and_renders_nothing():
    env = gym.make("archgym/Synthetic-v0", render_mode=None)
    env.reset(seed=0)
    assert env.render() is None


def test_render_mode_ansi_shows_the_last_design_and_metrics():
    env = gym.make("archgym/Synthetic-v0", render_mode="ansi")
    env.reset(seed=0)
    assert "no design evaluated yet" in env.render()
    _, reward, _, _, info = env.step(env.action_space.sample())
    text = env.render()
    for name, value in info["design"].items():
        assert f"{name}" in text and str(value) in text
    assert "cost" in text and f"{reward:.6g}" in text


def test_unknown_render_mode_is_refused():
    with pytest.raises((UserError, gym.error.Error)):
        gym.make("archgym/Synthetic-v0", render_mode="rgb_array")
    with pytest.raises(UserError, match="render_mode"):
        SyntheticEnv(render_mode="human")


# -- optional imports -----------------------------------------------------------------------------
def test_missing_extra_is_one_line_naming_the_pip_install():
    with pytest.raises(MissingExtraError) as caught:
        import_optional("archgym_no_such_package", "rl", "the test feature")
    message = str(caught.value)
    assert "pip install 'archgym[rl]'" in message and "\n" not in message
    assert isinstance(caught.value, ImportError) and isinstance(caught.value, UserError)


def test_present_module_is_returned_and_unknown_extra_refused():
    import json

    assert import_optional("json", "plot") is json
    with pytest.raises(ValueError, match="unknown extra"):
        import_optional("json", "nope")


def test_a_missing_archgym_module_is_a_bug_not_a_missing_extra():
    with pytest.raises(ModuleNotFoundError) as caught:
        import_optional("archgym.no_such_module", "rl")
    assert not isinstance(caught.value, MissingExtraError)


def test_agent_missing_its_extra_names_it(monkeypatch):
    import archgym.agents as agents

    monkeypatch.setitem(agents.AGENTS, "ppo", "archgym_no_such_package:PPO")
    monkeypatch.setitem(agents.AGENT_INFO, "ppo", agents.AgentInfo("ppo", "archgym_no_such_package:PPO", "rl", "", "",
                                                                    extra="rl"))
    with pytest.raises(MissingExtraError, match=r"archgym\[rl\]"):
        agents.agent_class("ppo")


def test_public_names():
    assert archgym.spec_metadata is spec_metadata and archgym.UserError is UserError


def test_studies_and_proxies_read_the_schema_without_building_the_env(monkeypatch):
    from archgym.proxy.simulator import env_schema
    from archgym.study.run import plan
    from archgym.study.spec import Study

    def refuse(self, *args, **kwargs):
        raise AssertionError("the env was constructed")

    monkeypatch.setattr(SyntheticEnv, "__init__", refuse)
    runs = plan(Study("archgym/Synthetic-v0", "ga", 10, draws=2, seeds=1))
    assert {r.agent for r in runs} == {"ga", "random"}
    space, metrics = env_schema("archgym/Synthetic-v0", {"n_values": 3})
    assert space == spec_metadata("archgym/Synthetic-v0", n_values=3).design_space
    assert [m.name for m in metrics] == ["cost", "regret"]


def test_study_plan_refuses_unknown_env_keywords():
    from archgym.study.run import plan
    from archgym.study.spec import Study

    with pytest.raises(UserError, match="takes no keyword"):
        plan(Study("archgym/Synthetic-v0", "ga", 10, draws=1, seeds=1, env_kwargs={"colour": "red"}))


def test_gym_make_keywords_pass_the_env_keyword_check():
    from archgym.registration import check_env_kwargs

    check_env_kwargs("archgym/Synthetic-v0", {"max_episode_steps": 5, "disable_env_checker": True, "n_values": 3})
    with pytest.raises(UserError, match="'colour'"):
        check_env_kwargs("archgym/Synthetic-v0", {"colour": 1})
