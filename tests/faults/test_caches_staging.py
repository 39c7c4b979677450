"""A model conversion killed by SIGTERM leaves its staging folder; the next start removes it.

Reproduced with a real child process that is converting (held inside the check step) when it
is terminated. A conversion that is still running in another process keeps its folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from samlabel.inference import onnx_export
from tests.inference.tiny_models import write_tiny_checkpoint

REPO = Path(__file__).resolve().parents[2]

#: Converts argv[1] into the cache argv[2], stopping in the check step (after the ONNX
#: files are written) until it is killed; touches argv[3] when it gets there.
CONVERTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from samlabel.inference import onnx_export

    def held(model, out_dir):
        Path(sys.argv[3]).write_text("converting")
        time.sleep(600)

    onnx_export.verify_export = held
    onnx_export.ensure_onnx(Path(sys.argv[1]), cache_root=Path(sys.argv[2]))
    """
)


def _start_converter(checkpoint: Path, root: Path, tmp_path: Path) -> subprocess.Popen:
    signal_file = tmp_path / f"{checkpoint.stem}.converting"
    log = tmp_path / f"{checkpoint.stem}.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", CONVERTER, str(checkpoint), str(root), str(signal_file)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=REPO,
            stderr=stderr,
        )
    deadline = time.monotonic() + 300
    while not signal_file.exists():
        if process.poll() is not None:
            pytest.fail(f"converter ended early: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("converter did not reach the check step")
        time.sleep(0.2)
    return process


def _staging(root: Path) -> list[Path]:
    return sorted(root.glob(".staging-*"))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_staging_of_a_killed_conversion_is_removed_but_a_running_one_is_kept(tmp_path):
    root = tmp_path / "onnx"
    killed_model = write_tiny_checkpoint(tmp_path / "killed.pth", seed=1)
    running_model = write_tiny_checkpoint(tmp_path / "running.pth", seed=2)

    killed = _start_converter(killed_model, root, tmp_path)
    killed.send_signal(signal.SIGTERM)
    killed.wait(60)
    (left,) = _staging(root)  # reproduced: the killed conversion's folder stays
    assert any(left.rglob("*.onnx"))

    running = _start_converter(running_model, root, tmp_path)
    try:
        (in_progress,) = [p for p in _staging(root) if p != left]
        # Opening the killed model again: its stale staging goes, the running one stays.
        messages: list[str] = []
        folder = onnx_export.ensure_onnx(
            killed_model, cache_root=root, progress=lambda m, f: messages.append(m)
        )
        assert not left.exists()
        assert in_progress.is_dir() and any(in_progress.rglob("*.onnx"))
        assert (folder / "encoder.onnx").is_file() and messages[-1] == "Model ready"
    finally:
        running.send_signal(signal.SIGTERM)
        running.wait(60)
    # Once that process is gone too, the next start clears its folder as well.
    onnx_export.ensure_onnx(killed_model, cache_root=root)
    assert _staging(root) == []
    assert (folder / "manifest.json").is_file()  # the finished conversion is kept


def test_temporary_index_files_of_dead_processes_are_removed(tmp_path):
    from samlabel.inference import export_cache_guard as guard

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = tmp_path / f"digests.{int(finished.stdout)}.tmp"
    mine = tmp_path / f"digests.{os.getpid()}.tmp"  # this process may be writing it now
    kept = tmp_path / "digests.json"
    for path in (dead, mine, kept):
        path.write_text("{}")
    assert guard.remove_stale_staging(tmp_path) == [dead]
    assert not dead.exists() and mine.exists() and kept.exists()
