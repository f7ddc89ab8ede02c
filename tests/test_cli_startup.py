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
