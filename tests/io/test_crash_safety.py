"""A process saving in a loop is killed with SIGKILL at random moments: nothing is ever lost."""

from __future__ import annotations

import os
import random
import signal
import sys
import time

import numpy as np
import pytest

from samlabel.core.document import Document
from samlabel.io.coco import load_coco, save_coco
from samlabel.io.store import AnnotationStore

ROUNDS = 200


def _initial_document() -> Document:
    """A document big enough that a save takes a few milliseconds."""
    doc = Document()
    category = doc.add_category("0")  # its name carries the state number
    yy, xx = np.mgrid[:200, :300]
    for i in range(2):
        image = doc.add_image(f"im{i}.png", 300, 200)
        for k in range(4):
            mask = np.asfortranarray(np.sin(xx / (7 + k)) + np.cos(yy / (5 + i)) > 0.3 * k)
            doc.add_annotation(image.id, category.id, mask)
    return doc


def _child_saving_in_a_loop(path: str, write_fd: int) -> None:
    """Open the store (taking over the dead predecessor's lock) and save states k+1, k+2..."""
    store = AnnotationStore.open(path)
    if store.read_only:
        os.write(write_fd, b"read-only\n")
        return
    k = int(store.document.categories[0].name)
    while True:
        k += 1
        store.document.rename_category(store.document.categories[0].id, str(k))
        store.save()
        os.write(write_fd, f"{k}\n".encode())


def _state(path) -> int:
    return int(load_coco(path).document.categories[0].name)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="needs fork and SIGKILL")
def test_sigkill_at_random_moments_leaves_the_last_or_the_one_before_last_state(tmp_path):
    path = tmp_path / "annotations.json"
    save_coco(_initial_document(), path)
    rng = random.Random(1234)
    on_disk = 0
    for round_ in range(ROUNDS):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            try:
                os.close(read_fd)
                _child_saving_in_a_loop(str(path), write_fd)
            finally:
                os._exit(0)
        os.close(write_fd)
        pipe = os.fdopen(read_fd, "rb")
        first = b""
        if round_ % 2:
            # Half the rounds kill inside the save loop, after a first save went through;
            # the others anywhere, opening (lock takeover, temp cleanup) included.
            first = pipe.readline()
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with pipe:
            reported = (first + pipe.read()).decode().split()
        assert "read-only" not in reported, "the lock of the killed child was not taken over"
        last_done = int(reported[-1]) if reported else on_disk
        # Every load succeeds; the file holds the last completed save, or the one being
        # written when the kill came (its rename done, its report not yet sent).
        now = _state(path)
        assert now in (last_done, last_done + 1)
        backup = path.with_name(path.name + ".bak")
        if backup.exists():
            assert _state(backup) in (now - 1, now - 2, now)
        on_disk = now
    assert on_disk >= ROUNDS // 2  # the children really did save
    # The temp files of killed saves are cleaned by the next opener.
    AnnotationStore.open(path).close()
    assert not list(tmp_path.glob("*.tmp"))
