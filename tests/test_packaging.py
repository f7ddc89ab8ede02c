"""The wheel maps envs/, agents/, simulators/ into the archgym namespace and ships its data."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_every_subpackage_and_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
    )
    wheel = next(tmp_path.glob("archgym-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert not any(n.startswith(("envs/", "agents/", "simulators/")) for n in names), "bare top-level package in wheel"
    assert "archgym/simulators/dram/traces/stream.stl" in names
    assert "archgym/simulators/dram/traces/LICENSE" in names
    assert "archgym/simulators/accelerator/workloads/resnet18.csv" in names
    assert "archgym/simulators/nas/data/nb201.npz" in names
    assert "archgym/simulators/nas/data/HELP.LICENSE" in names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    code = (
        "import archgym, archgym.envs, archgym.agents, archgym.simulators, archgym.simulators.dram, archgym.envs.dram;"
        "import archgym.dataset, archgym.simulators.accelerator, archgym.envs.accelerator, archgym.envs.multi_agent;"
        "import archgym.study, archgym.study.cli, archgym.proxy, archgym.proxy.cli, archgym.simulators.nas.supernet;"
        "import gymnasium as gym;"
        "gym.make('archgym/Accelerator-v0', workload='resnet18');"
        "import archgym.simulators.training.step, archgym.envs.training; gym.make('archgym/Training-v0');"
        "nas = gym.make('archgym/NASBench201-v0', device='eyeriss'); nas.reset(seed=0); nas.step([3] * 6);"
        f"assert archgym.__file__.startswith({str(target)!r}), archgym.__file__;"
        "assert archgym.simulators.dram.__file__.startswith(archgym.__file__.rsplit('/', 1)[0]);"
        "from archgym.simulators.dram import list_workloads; assert 'stream' in list_workloads();"
        "print('ok')"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
