"""archgym environments. Importing :mod:`archgym` registers them with gymnasium."""

from archgym.registration import register

register(
    "archgym/DRAM-v0",
    entry_point="archgym.envs.dram:DRAMEnv",
    max_episode_steps=100,
    description="DDR memory-controller design (ArchGym's DRAMSys knobs) on a cycle-level trace-driven simulator",
)
