"""Killing the window (SIGKILL) in the middle of a propagation: on reopening, the accepted
mask and the frames saved are there, and pressing Propagate on the next frame continues."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from samlabel.inference import load_predictor
from samlabel.session.propagation import record_path
from tests.qt.propagation_helpers import (
    FRAMES,
    summary,
    wait_propagated,
    write_clip,
    write_tiny_sam21,
)
from tests.qt.window_helpers import key, open_window, wait_ready

REPO = Path(__file__).resolve().parents[2]
READY = 120000  # ms


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_propagation_survives_sigkill_and_continues(qtbot, tmp_path: Path) -> None:
    study = write_clip(tmp_path / "study")
    checkpoint = write_tiny_sam21(tmp_path / "sam2.1_hiera_tiny_random.pt")
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "tests.e2e.propagation_crash_session"]
    pipe = subprocess.PIPE
    arguments = [*command, str(study), str(tmp_path / "child.ini"), str(checkpoint)]
    process = subprocess.Popen(arguments, cwd=REPO, env=env, stdout=pipe, stderr=pipe, text=True)
    lines: list[str] = []
    try:
        started = time.monotonic()
        while "frame 2" not in lines:  # frames 0 and 1 arrived: kill it in the middle
            line = process.stdout.readline()
            if not line:
                pytest.fail(f"the session ended early: {process.stderr.read()[-2000:]}")
            lines.append(line.strip())
            assert time.monotonic() - started < 300, f"the session is too slow: {lines}"
        time.sleep(1.5)  # the autosave's bounded delay
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stdout.close()
        process.stderr.close()
    assert "accepted" in lines

    annotations = study / "annotations.json"
    json.loads(annotations.read_text("utf-8"))  # whole, never half-written
    record = json.loads(record_path(annotations).read_text("utf-8"))
    assert {"0", "1"} <= set(record["stacks"]["clip"]["tracked"]["1"])

    window = open_window(qtbot, tmp_path / "settings.ini", load_predictor(checkpoint, "torch"))
    assert window.folders.open_folder(study)
    wait_ready(qtbot, window, timeout=READY)
    c = window.controller
    saved = summary(c)
    assert saved[0] == [(1, True)]  # the accepted mask
    assert saved[1] == [(1, False)]  # propagated before the kill, unreviewed
    resume = next(f for f in range(FRAMES) if not saved[f])
    window.frame_slider.slider.setValue(resume + 1)
    qtbot.waitUntil(
        lambda: c.source is not None and c.source.path.name == f"clip#{resume:03d}", timeout=READY
    )
    wait_ready(qtbot, window, timeout=READY)
    key(qtbot, window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    wait_propagated(c)
    assert summary(c) == [[(1, True)]] + [[(1, False)]] * (FRAMES - 1)
    assert summary(c)[:resume] == saved[:resume]  # nothing saved before was touched
