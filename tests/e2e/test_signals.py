"""Ctrl+C (SIGINT), SIGTERM and SIGHUP close the app in order: the last accept, made just
before the signal, is saved; a running export finishes; the lock is released; no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from samlabel.io.store import AnnotationStore
from tests.qt.images import write_images

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
]


def _run_until(tmp_path: Path, wanted: str, export: Path | None = None, *extra: str):
    """Start the app on a new folder; return it, its folder and the output lines up to the
    first line starting with ``wanted``."""
    folder = tmp_path / "images"
    write_images(folder, 3, size=(80, 160))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "QT_QPA_PLATFORM": "offscreen",
        "SAMLABEL_CONFIG_DIR": str(tmp_path / "config"),
        "SAMLABEL_CACHE_DIR": str(tmp_path / "cache"),
    }
    command = [sys.executable, "-m", "tests.e2e.signal_session", str(folder), "0.05"]
    if export is not None:
        command += ["--export", str(export)]
    command += extra
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    started = time.monotonic()
    while not (lines and lines[-1].startswith(wanted)):
        line = process.stdout.readline()
        if not line:
            process.kill()
            pytest.fail(f"the app ended early: {process.stderr.read()[-2000:]}")
        lines.append(line.strip())
        if time.monotonic() - started > 90:
            process.kill()
            pytest.fail("the app is too slow")
    return process, folder, lines


def _finish(process: subprocess.Popen, signum: int) -> tuple[list[str], str]:
    process.send_signal(signum)  # within milliseconds of the accept just read
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"the app did not close: {err[-2000:]}")
    return out.splitlines(), err


def _assert_saved_and_released(folder: Path, accepted: int) -> None:
    annotations = folder / "annotations.json"
    saved = json.loads(annotations.read_text("utf-8"))
    assert len(saved["annotations"]) == accepted  # the last accept too
    assert not (folder / "annotations.json.lock.json").exists()
    store = AnnotationStore.open(annotations)
    try:
        assert not store.read_only, store.read_only_reason
    finally:
        store.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_saves_the_last_accept_and_releases_the_lock(tmp_path, signum) -> None:
    process, folder, lines = _run_until(tmp_path, "accepted 4")
    rest, err = _finish(process, signum)
    accepted = max(int(line.split()[1]) for line in lines + rest if line.startswith("accepted"))
    assert accepted >= 4
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    assert process.returncode == 128 + signum and rest[-1] == f"exit {128 + signum}"
    _assert_saved_and_released(folder, accepted)


def test_sigterm_lets_a_running_export_finish(tmp_path) -> None:
    out = tmp_path / "export"
    out.mkdir()
    process, folder, lines = _run_until(tmp_path, "export started", export=out)
    rest, err = _finish(process, signal.SIGTERM)
    assert "Traceback" not in err, err[-2000:]
    assert process.returncode == 128 + signal.SIGTERM
    exported = json.loads((out / "annotations_polygons.json").read_text("utf-8"))
    assert len(exported["annotations"]) == 3  # the snapshot taken when it started
    accepted = max(int(line.split()[1]) for line in lines + rest if line.startswith("accepted"))
    _assert_saved_and_released(folder, accepted)


def test_sigterm_in_the_middle_of_merging_another_programs_edit_keeps_both(tmp_path) -> None:
    process, folder, lines = _run_until(tmp_path, "accepted 3", None, "--slow-merge")
    path = folder / "annotations.json"

    def read_until(done) -> None:
        while not done():
            line = process.stdout.readline()
            if not line:
                pytest.fail(f"the app ended early: {process.stderr.read()[-2000:]}")
            lines.append(line.strip())

    read_until(path.exists)  # the first autosave
    data = json.loads(path.read_text("utf-8"))
    data["categories"].append({"id": 90, "name": "from-script", "supercategory": ""})
    temporary = path.with_name("script.tmp")
    temporary.write_text(json.dumps(data), "utf-8")
    os.replace(temporary, path)  # while the app goes on accepting: merged at its next save
    read_until(lambda: lines[-1].startswith("merging"))
    rest, err = _finish(process, signal.SIGTERM)
    assert "Traceback" not in err, err[-2000:]
    assert process.returncode == 128 + signal.SIGTERM
    accepted = max(int(line.split()[1]) for line in lines + rest if line.startswith("accepted"))
    saved = json.loads(path.read_text("utf-8"))
    assert "from-script" in [c["name"] for c in saved["categories"]]  # theirs
    assert len(saved["annotations"]) == accepted  # ours, the last accept too
    assert not list(folder.glob("*.tmp"))
