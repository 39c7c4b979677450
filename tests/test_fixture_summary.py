"""A run that cannot check correctness against a reference says so on its last line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # a pytest run in a child process: ~25 s on a busy 2-core machine
def test_a_run_without_any_reference_ends_by_saying_so(tmp_path: Path) -> None:
    # No shared fixtures, and Meta's segment-anything unimportable: nothing to generate them with.
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "segment_anything.py").write_text("raise ImportError('hidden by the test')\n")
    env = dict(os.environ)
    env.pop("CI", None)
    env.update(
        SAMLABEL_FIXTURES=str(tmp_path / "no-fixtures"),
        PYTHONPATH=os.pathsep.join([str(blocker), str(ROOT)]),
        QT_QPA_PLATFORM="offscreen",
    )
    command = [sys.executable, "-m", "pytest", "tests/test_meta_reference.py", "-q"]
    result = subprocess.run(
        [*command, "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "run")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr  # skipped, not failed
    lines = result.stdout.strip().splitlines()
    assert "skipped" in lines[-2] and "passed" not in lines[-2]
    assert re.match(r"\d+ correctness tests SKIPPED for a missing reference", lines[-1])
    assert "README.md, Tests" in lines[-1]
