"""Listing and help import nothing heavy (issue 10/13): checked on the imported modules, not on time."""

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "pandas", "stable_baselines3", "skopt", "pettingzoo", "matplotlib", "ray", "numba", "pyarrow")


def imported_heavy(argv: list[str]) -> list[str]:
    code = (
        "import sys, json\n"
        "from archgym.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["list", "agents"], ["list", "envs"], ["simulate", "dram", "--help"],
                                  ["describe", "archgym/Synthetic-v0"]])
def test_cli_listing_and_help_import_nothing_heavy(argv):
    assert imported_heavy(argv) == []


def run_python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_import_archgym_is_light_and_registers_whichever_is_imported_first():
    code = ("import sys, archgym\n"
            "light = not any(m in sys.modules for m in ('gymnasium', 'numpy'))\n"
            "import gymnasium\n"
            "print(light, 'archgym/DRAM-v0' in gymnasium.registry, archgym.DSEEnv.__name__)\n")
    assert run_python(code) == "True True DSEEnv"
    assert run_python("import gymnasium, archgym\nprint('archgym/Synthetic-v0' in gymnasium.registry)") == "True"
    # the registration module first: its catalogue fills itself, and gymnasium's registry with it
    code = ("from archgym.registration import list_envs\n"
            "import gymnasium\n"
            "print(len(list_envs()) > 5, 'archgym/DRAM-v0' in gymnasium.registry)\n")
    assert run_python(code) == "True True"
    assert run_python("import archgym\nprint(archgym.envs.__name__)") == "archgym.envs"


def test_simulate_dram_imports_only_what_the_simulation_needs(tmp_path):
    trace = tmp_path / "three.stl"
    trace.write_text("0:\tread\t0x0\n4:\twrite\t0x40\n8:\tread\t0x1000\n")
    code = (
        "import sys, json\n"
        "from archgym.cli import main\n"
        f"main(['simulate', 'dram', '--trace', {str(trace)!r}, '--json'])\n"
        "print(json.dumps([m for m in ('gymnasium', 'pandas', 'pyarrow', 'sklearn', 'torch', 'numba', 'scipy')\n"
        "                  if m in sys.modules]))\n"
    )
    # a short trace runs in the plain-Python kernel: numba (and the scipy it pulls in) stays out
    assert json.loads(run_python(code).splitlines()[-1]) == []
