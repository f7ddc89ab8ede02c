"""Log every evaluation an environment performs to the shared dataset.

:class:`RecordEvaluations` is a gymnasium wrapper (like ``RecordEpisodeStatistics``): whoever
drives the env — an agent's ask/tell loop, an RL library, a notebook — every ``step`` becomes
one dataset record with the run's identity (study, run, agent, hyperparameters, seed).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from typing import Any, Mapping

import gymnasium as gym

from archgym.dataset import DatasetWriter


class RecordEvaluations(gym.Wrapper):
    """Append one record per ``step`` to a :class:`~archgym.dataset.DatasetWriter`."""

    def __init__(
        self,
        env: gym.Env,
        writer: DatasetWriter,
        *,
        study: str = "adhoc",
        run: str = "run",
        agent: str = "",
        agent_params: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(env)
        self.writer = writer
        self._identity = {
            "study": study,
            "run": run,
            "env_id": env.spec.id if env.spec is not None else type(env.unwrapped).__name__,
            "simulator": env.unwrapped.simulator.name,
            "simulator_version": env.unwrapped.simulator.version,
            "agent": agent,
            "agent_params": json.dumps(dict(agent_params or {}), sort_keys=True, default=str),
            "seed": seed,
        }
        self.steps = 0

    def step(self, action: Any):
        start = time.perf_counter()
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.writer.append(
            {
                **self._identity,
                "workload": str(info["workload"]),
                "step": self.steps,
                "reward": float(reward),
                "feasible": bool(info["feasible"]),
                "error": info["error"],
                "wall_time_s": time.perf_counter() - start,
                "timestamp": datetime.now(timezone.utc),
                "design": info["design"],
                "metrics": info["metrics"],
            }
        )
        self.steps += 1
        return observation, reward, terminated, truncated, info
