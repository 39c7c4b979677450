"""``samlabel --selftest``: does this installation (or packaged app) work end to end?

Runs, with the model given by ``--model`` or else the first one bundled in a packaged app:
load the model, encode a generated image, decode a click on it, write the mask as COCO in a
temporary folder and read it back, and open the window offscreen and close it. Prints one
line per step and a final verdict; the exit code is 0 only when every step passed. Nothing
is written outside a temporary folder except the model cache a first load fills.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

#: The generated image: (height, width), and a bright disc at (cx, cy) with radius r.
IMAGE_SIZE = (480, 640)
DISC = (400, 200, 90)


def generated_image() -> np.ndarray:
    """``(480, 640, 3)`` uint8 RGB: a bright disc on a dark gradient (something to click)."""
    height, width = IMAGE_SIZE
    ys, xs = np.mgrid[0:height, 0:width]
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = 30 + 60 * xs // width
    image[..., 1] = 40 + 50 * ys // height
    image[..., 2] = 70
    cx, cy, radius = DISC
    image[(xs - cx) ** 2 + (ys - cy) ** 2 <= radius**2] = (235, 200, 60)
    return image


def disc_mask() -> np.ndarray:
    """The generated image's disc as an ``(H, W)`` bool mask."""
    ys, xs = np.mgrid[0 : IMAGE_SIZE[0], 0 : IMAGE_SIZE[1]]
    cx, cy, radius = DISC
    return (xs - cx) ** 2 + (ys - cy) ** 2 <= radius**2


def find_model(given: str | None) -> Path:
    """The model to test: ``given``, else the first model bundled in a packaged app."""
    from samlabel.core.errors import CheckpointError
    from samlabel.core.paths import bundled_models_dir

    if given:
        return Path(given).expanduser()
    bundled = bundled_models_dir()
    models = sorted(bundled.iterdir()) if bundled is not None else []
    if not models:
        raise CheckpointError(
            "no model to test: give one with --model (a checkpoint or an exported ONNX folder)."
        )
    return models[0]


@dataclass
class SelfTest:
    """The steps' shared state and the lines they print."""

    model: str | None
    backend: str | None
    out: TextIO | None = None  # None: sys.stdout at the time of printing
    state: dict[str, Any] = field(default_factory=dict)

    def step_model(self) -> str:
        from samlabel.inference import load_predictor

        path = find_model(self.model)
        # calibrate=False: a stored measurement or ONNX Runtime; the test checks that the
        # model runs, and measuring backends would take minutes.
        predictor = load_predictor(path, backend=self.backend or "auto", calibrate=False)
        self.state["predictor"] = predictor
        return f"{path} ({predictor.describe()})"

    def step_encode(self) -> str:
        embedding = self.state["predictor"].encode(generated_image())
        features = embedding.features
        if features.shape != (1, 256, 64, 64) or not np.isfinite(features).all():
            raise ValueError(f"embedding of shape {features.shape} is not finite 1x256x64x64")
        self.state["embedding"] = embedding
        return f"{IMAGE_SIZE[1]}x{IMAGE_SIZE[0]} image, embedding {features.shape}"

    def step_decode(self) -> str:
        cx, cy, _ = DISC
        prediction = self.state["predictor"].decode(
            self.state["embedding"], points=[(cx, cy, 1)], box=None
        )
        masks, scores = prediction.masks, prediction.scores
        if masks.shape != (3, *IMAGE_SIZE) or masks.dtype != bool:
            raise ValueError(f"masks of shape {masks.shape} {masks.dtype}, not 3x480x640 bool")
        if scores.shape != (3,) or not np.isfinite(scores).all():
            raise ValueError(f"scores {scores} are not three finite numbers")
        best = int(np.argmax(scores))
        self.state["mask"], self.state["score"] = masks[best], float(scores[best])
        return f"3 masks, best {masks[best].mean():.1%} of the image, score {scores[best]:.2f}"

    def step_coco(self) -> str:
        from samlabel.core.document import Document
        from samlabel.core.masks import decode_rle
        from samlabel.io.coco import load_coco
        from samlabel.io.coco_write import save_coco

        # A model may leave a click empty (random weights do): then the disc is saved instead.
        mask, source = self.state["mask"], "the decoded mask"
        if not mask.any():
            mask, source = disc_mask(), "a drawn disc (the decoded mask was empty)"
        document = Document()
        image = document.add_image("selftest.png", IMAGE_SIZE[1], IMAGE_SIZE[0])
        category = document.add_category("object")
        document.add_annotation(image.id, category.id, np.asfortranarray(mask), 0.5)
        path = Path(self.state["temp"]) / "annotations.json"
        save_coco(document, path)
        (annotation,) = load_coco(path).document.annotations
        if not np.array_equal(decode_rle(annotation.rle), mask):
            raise ValueError(f"the mask read back from {path} differs from the one written")
        return f"{source} written and read back ({path.stat().st_size} bytes)"

    def step_window(self) -> str:
        from samlabel.preflight import window_problem

        problem = window_problem()  # a missing system library: name it instead of Qt's abort
        if problem is not None:
            raise RuntimeError(problem)
        from PySide6.QtWidgets import QApplication

        from samlabel.app import create_window

        app = QApplication.instance() or QApplication(sys.argv[:1])
        settings = Path(self.state["temp"]) / "settings.ini"
        window = create_window(settings, self.state["predictor"], embedding_cache=False)
        window.show()
        app.processEvents()
        shown = window.isVisible()
        window.close()
        app.processEvents()
        if not shown:
            raise RuntimeError("the window did not show")
        return f"opened and closed on the {app.platformName()} platform"

    def run(self) -> int:
        """Run every step that can run; print a line each and the verdict; 0 when all pass."""
        steps: list[tuple[str, Callable[[], str], tuple[str, ...]]] = [
            ("model", self.step_model, ()),
            ("encode", self.step_encode, ("predictor",)),
            ("decode", self.step_decode, ("embedding",)),
            ("coco", self.step_coco, ("mask",)),
            ("window", self.step_window, ("predictor",)),
        ]
        failed = []
        with tempfile.TemporaryDirectory(prefix="samlabel-selftest-") as temp:
            self.state["temp"] = temp
            for name, step, needs in steps:
                if any(key not in self.state for key in needs):
                    failed.append(name)
                    self._print(f"{name}: skipped (an earlier step failed)")
                    continue
                start = time.perf_counter()
                try:
                    detail = step()
                except Exception as error:  # every failure is reported, none stops the report
                    failed.append(name)
                    self._print(f"{name}: FAILED: {_one_line(error)}")
                    continue
                self._print(f"{name}: ok, {detail} ({time.perf_counter() - start:.1f} s)")
        if failed:
            self._print(f"self-test FAILED: {', '.join(failed)} ({len(failed)} of {len(steps)})")
            return 1
        self._print(f"self-test passed: all {len(steps)} steps")
        return 0

    def _print(self, line: str) -> None:
        print(f"samlabel --selftest: {line}", file=self.out or sys.stdout, flush=True)


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def run_selftest(model: str | None, backend: str | None = None, out: TextIO | None = None) -> int:
    """Run the self-test with the window offscreen; returns the process exit code."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a test must not open a window on screen
    return SelfTest(model, backend, out).run()
