"""A study started from a script without ``if __name__ == "__main__":`` gets a clear error (issue 10, section 4)."""

import subprocess
import sys
import textwrap

import pytest

from archgym.errors import UserError
from archgym.study.main_guard import check_main_guard

STUDY = """
from archgym.study import Study, run_study
study = Study("archgym/Synthetic-v0", "ga", 3, draws=1, seeds=1)
run_study(study, {dataset!r}, backend="process", workers=1)
print("finished")
"""


def test_unguarded_script_is_refused_before_any_worker_starts(tmp_path):
    script = tmp_path / "study.py"
    script.write_text(STUDY.format(dataset=str(tmp_path / "ds")))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert out.returncode != 0 and "finished" not in out.stdout
    assert 'if __name__ == "__main__":' in out.stderr and "BrokenProcessPool" not in out.stderr
    assert not (tmp_path / "ds").exists() or not any((tmp_path / "ds").glob("*.parquet"))


@pytest.mark.parametrize("guard", ['if __name__ == "__main__":', "if __name__=='__main__':", "if '__main__' == __name__:"])
def test_guarded_scripts_pass_the_check(tmp_path, monkeypatch, guard):
    script = tmp_path / "study.py"
    script.write_text(f"{guard}\n    pass\n")
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(script), raising=False)
    check_main_guard("spawn")


def test_unguarded_main_is_refused_unless_forking(tmp_path, monkeypatch):
    script = tmp_path / "study.py"
    script.write_text(textwrap.dedent(STUDY))
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(script), raising=False)
    with pytest.raises(UserError, match="__main__"):
        check_main_guard("spawn")
    check_main_guard("fork")  # fork does not re-import the script
