"""A time limit per evaluation: a hanging simulator gives a failed evaluation, and the env goes on."""

import textwrap
import time

import pytest

from archgym.env import DSEEnv
from archgym.timeout import TimeLimitedSimulator

HANGING = textwrap.dedent(
    """
    import time
    from archgym.simulator import Metric, SimulationError, Simulator

    class HangingSimulator(Simulator):
        '''Test double: hangs for size == 1, fails for size == 2, else cost = size.'''

        name, version = "hanging-test", "1"
        metrics = (Metric("cost", "units", "minimize"),)

        def evaluate(self, design, workload):
            if design["size"] == 1:
                time.sleep(3600)
            if design["size"] == 2:
                raise SimulationError("size 2 is infeasible")
            if design["size"] == 3:
                raise ValueError("size 3 is not a valid design")
            return {"cost": float(design["size"])}
    """
)


@pytest.fixture
def hanging(module_on_path):
    return module_on_path("archgym_hanging_sim", HANGING).HangingSimulator()


@pytest.mark.slow
def test_a_hanging_evaluation_is_a_failed_evaluation_and_the_next_one_runs(hanging):
    from archgym.spaces import DesignSpace, Integer

    limited = TimeLimitedSimulator(hanging, timeout_s=1.0)
    env = DSEEnv(limited, DesignSpace([Integer("size", 1, 10)]), "w", targets={"cost": 5.0}, cache=False)
    try:
        _, reward, _, _, info = env.step({"size": 4})
        assert info["feasible"] and info["metrics"] == {"cost": 4.0}, info["error"]
        start = time.monotonic()
        _, reward, _, _, info = env.step({"size": 1})
        assert time.monotonic() - start < 30
        assert not info["feasible"] and "timed out after 1 s" in info["error"]
        assert reward == env.objective.failure_reward
        _, _, _, _, info = env.step({"size": 2})  # a fresh evaluator process; failures keep their message
        assert not info["feasible"] and "size 2 is infeasible" in info["error"]
        with pytest.raises(ValueError, match="size 3 is not a valid design"):
            env.step({"size": 3})
        assert env.step({"size": 6})[4]["metrics"] == {"cost": 6.0}
        assert limited.fingerprint() == hanging.fingerprint() and limited.identity == hanging.identity
    finally:
        limited.close()


def test_timeout_must_be_positive(hanging):
    with pytest.raises(ValueError, match="positive number of seconds"):
        TimeLimitedSimulator(hanging, 0)
