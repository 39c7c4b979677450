"""SAM 2.1 in the window, pixel for pixel: a random-weight Hiera-T checkpoint loaded through the
window's model command (in torch, and in ONNX Runtime with its split decoder), a click and a
box drawn with the mouse on the canvas.

For each prompt, what the person sees is checked against Meta's ``SAM2ImagePredictor`` given
the same prompt: the three scores of the candidate strip, the live mask exactly as the canvas
draws it (Meta's low-res logits resampled for the same screen region), and after Enter the
mask the annotations file holds (its RLE decoded).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt

from samlabel.core.masks import Rle, decode_rle
from samlabel.inference.api import Prediction
from tests.qt.window_helpers import (
    click_image,
    drag_box,
    key,
    open_window,
    saved_coco,
    wait_decoded,
    wait_ready,
)
from tests.sam2.parity import MASK_AGREEMENT, SCORE_TOLERANCE
from tests.sam2.reference import build_reference, make_image, reference_predictor, write_checkpoint

IMAGE_HW = (180, 240)


@pytest.fixture(scope="module")
def tiny_sam2(tmp_path_factory):
    """Meta's Hiera-T (SAM 2.1 config, seeded random weights) and its checkpoint file."""
    model = build_reference("tiny")
    folder = tmp_path_factory.mktemp("sam2_window")
    return model, write_checkpoint(model, folder / "sam2.1_hiera_tiny_random.pt")


def _meta(model, image: np.ndarray, points=None, box=None):
    """Meta's ``(masks (3, H, W) bool, scores (3,), low-res logits (3, 256, 256))``."""
    predictor = reference_predictor(model)
    with torch.inference_mode():
        predictor.set_image(image)
        masks, scores, low_res = predictor.predict(
            point_coords=None if points is None else np.array([p[:2] for p in points]),
            point_labels=None if points is None else np.array([p[2] for p in points]),
            box=None if box is None else np.array(box, dtype=np.float32),
            multimask_output=True,
        )
    return masks.astype(bool), scores, low_res


def _check_on_screen(window, meta) -> int:
    """The strip's scores and the drawn live mask against Meta's; returns Meta's best index."""
    _, scores, low_res = meta
    best = int(np.argmax(scores))
    strip = window.candidates
    np.testing.assert_allclose(strip.scores, scores, atol=SCORE_TOLERANCE)
    assert strip.selected == best
    labels = [label.text() for label in strip.score_labels]
    assert labels[best] == f"{best + 1} · {scores[best]:.2f} ★"
    shown, region = window.canvas.live_mask_view()
    embedding = window.controller.embedding
    expected = Prediction(
        scores=scores,
        low_res_logits=low_res,
        original_size=embedding.original_size,
        input_size=embedding.input_size,
        stretched=True,
    ).mask_logits_for_view(best, shown.shape, region)
    agreement = float((shown == (expected > 0)).mean())
    assert agreement >= MASK_AGREEMENT, f"live mask agrees with Meta's on {agreement:.5f}"
    assert 0.01 < shown.mean() < 0.99  # a real mask, not an empty or full picture
    return best


def _saved_mask(annotation: dict) -> np.ndarray:
    segmentation = annotation["segmentation"]
    return decode_rle(Rle(tuple(segmentation["size"]), segmentation["counts"].encode("ascii")))


@pytest.mark.slow  # Hiera-T encodes (and an ONNX export): about a minute on 2 cores
@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_a_click_and_a_box_on_sam2_show_and_save_metas_masks(qtbot, tmp_path, tiny_sam2, backend):
    model, checkpoint = tiny_sam2
    image = make_image(*IMAGE_HW)
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(image).save(folder / "scene.png")
    win = open_window(qtbot, tmp_path / "s.ini", None)
    assert win.folders.open_folder(folder)
    win.models.load_model(checkpoint, backend)
    qtbot.waitUntil(lambda: win.controller.predictor is not None, timeout=300_000)
    assert win.controller.predictor.model_name == "SAM 2.1 Hiera-T"
    assert win.controller.predictor.backend == backend
    wait_ready(qtbot, win, timeout=120_000)
    assert len(win.controller.embedding.high_res_features) == 2
    win.controller.runner.wait_until_idle(60)  # the decoder warm-up is done

    # An include point.
    x, y = click_image(qtbot, win, 100.0, 95.0, settle=False)
    wait_decoded(qtbot, win, timeout=60_000)
    point_meta = _meta(model, image, points=[(x, y, 1)])
    point_best = _check_on_screen(win, point_meta)
    key(qtbot, win, Qt.Key.Key_Return)

    # A box dragged with the mouse, a new object.
    drag_box(qtbot, win, (40.0, 50.0), (170.0, 150.0))
    box = win.controller.prompts.box
    assert box is not None and win.controller.prompts.points == ()
    wait_decoded(qtbot, win, timeout=60_000)
    box_meta = _meta(model, image, box=box)
    box_best = _check_on_screen(win, box_meta)
    key(qtbot, win, Qt.Key.Key_Return)

    coco = saved_coco(win)
    assert len(coco["annotations"]) == 2
    prompts_of = [a["samlabel_prompts"] for a in coco["annotations"]]
    by_prompt = {
        "points" if p.get("points") else "box": a
        for p, a in zip(prompts_of, coco["annotations"], strict=True)
    }
    for kind, (masks, _, _), best in (
        ("points", point_meta, point_best),
        ("box", box_meta, box_best),
    ):
        saved = _saved_mask(by_prompt[kind])
        assert saved.shape == IMAGE_HW
        agreement = float((saved == masks[best]).mean())
        assert agreement >= MASK_AGREEMENT, f"{kind}: saved mask agrees on {agreement:.5f}"
        assert by_prompt[kind]["area"] == int(saved.sum()) > 0
