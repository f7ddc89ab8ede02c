"""archgym: Gymnasium environments and agents for ML-driven computer-architecture design space exploration.

``import archgym`` registers every environment with gymnasium::

    import gymnasium as gym, archgym
    env = gym.make("archgym/DRAM-v0", workload="stream")
"""

from archgym.simulator import Metric, SimulationError, Simulator
from archgym.spaces import Categorical, DesignSpace, Integer, PowerOfTwo, Real, Values
from archgym.env import DSEEnv
from archgym.errors import MissingExtraError, UserError
from archgym.registration import EnvMetadata, list_envs, register, spec_metadata
from archgym import envs as _envs  # noqa: F401  (registers the environments)

__version__ = "0.1.0"

__all__ = [
    "Categorical",
    "DSEEnv",
    "DesignSpace",
    "EnvMetadata",
    "Integer",
    "Metric",
    "MissingExtraError",
    "PowerOfTwo",
    "Real",
    "SimulationError",
    "Simulator",
    "UserError",
    "Values",
    "list_envs",
    "register",
    "spec_metadata",
    "__version__",
]
