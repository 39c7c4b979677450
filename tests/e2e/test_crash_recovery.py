"""Killing the app mid-session (SIGKILL) loses at most the last second of work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from samlabel.io.coco import load_coco
from samlabel.io.store import AnnotationStore
from tests.qt.images import write_images

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_loses_at_most_the_last_second(tmp_path: Path) -> None:
    folder = tmp_path / "images"
    write_images(folder, 3, size=(80, 160))
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.e2e.crash_session",
            str(folder),
            str(tmp_path / "settings.ini"),
            "0.1",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    accepted: list[tuple[int, float]] = []
    try:
        started = time.monotonic()
        while len(accepted) < 25:
            line = process.stdout.readline()
            if not line:
                pytest.fail(f"the session ended early: {process.stderr.read()[-2000:]}")
            if line.startswith("accepted "):
                _, count, when = line.split()
                accepted.append((int(count), float(when)))
            assert time.monotonic() - started < 90, "the session is too slow"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        killed_at = time.time()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()
    annotations = folder / "annotations.json"
    json.loads(annotations.read_text("utf-8"))  # a complete file, never half-written
    saved = len(load_coco(annotations).document.annotations)
    done_a_second_before = max(n for n, when in accepted if when <= killed_at - 1.0)
    assert saved >= done_a_second_before, (saved, accepted[-5:])
    assert saved <= accepted[-1][0]
    # The killed process's lock is free: the file opens for writing again.
    store = AnnotationStore.open(annotations)
    try:
        assert not store.read_only, store.read_only_reason
    finally:
        store.close()
