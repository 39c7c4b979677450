"""A stack and a SAM 2.1 model for propagation tests of the window and of a crash.

The model is SAM 2.1 tiny with seeded random weights, written as a checkpoint file the window
loads, with the lighter memory of tests/sam2/test_video_propagation.py (3 memory frames, one
attention layer) and the object-score bias set by hand (random weights judge the object
absent on every frame, which would make every propagated mask empty). The stack is a folder
of numbered frames of a bright disc drifting right and down over a textured background.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from PIL import Image
from PySide6.QtCore import QCoreApplication

from samlabel.core.stack_frames import is_reviewed, track_id_of
from tests.sam2.video_reference import light_video_model, make_frames

FRAMES = 4


def write_tiny_sam21(path: Path) -> Path:
    """The tiny SAM 2.1 checkpoint (Meta's layout, ``{"model": state_dict}``)."""
    torch.save({"model": light_video_model().state_dict()}, path)
    return path


def write_clip(folder: Path, frames: int = FRAMES) -> Path:
    """``folder/clip/frame_000.png``...: the drifting disc, 240 x 320."""
    clip = folder / "clip"
    clip.mkdir(parents=True)
    for k, frame in enumerate(make_frames(frames)):
        Image.fromarray(frame).save(clip / f"frame_{k:03d}.png")
    return folder


def frame_masks(controller, frame: int) -> list:
    """The annotations on frame ``frame`` of the open stack (row 0)."""
    image_id = controller.session.images.stacks[0].frame_ids[frame]
    return list(controller.document.annotations_for_image(image_id))


def summary(controller, frames: int = FRAMES) -> list[list[tuple[int | None, bool]]]:
    """Per frame: ``(track id, reviewed)`` of each annotation."""
    return [
        [(track_id_of(a), is_reviewed(a)) for a in frame_masks(controller, f)]
        for f in range(frames)
    ]


def wait_propagated(controller, frames: int | None = None, timeout: float = 240.0) -> None:
    """Until the run in flight ended, or ``frames`` of it arrived (events processed)."""
    part = controller.session.propagation
    deadline = time.monotonic() + timeout
    while part.is_running() and (frames is None or part.progress[0] < frames):
        if time.monotonic() > deadline:
            raise TimeoutError(f"propagation still running after {timeout} s")
        QCoreApplication.processEvents()
        time.sleep(0.01)
