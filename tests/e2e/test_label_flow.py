"""The whole labelling flow on the real window with the reference random-weight SAM model.

Every mask the window shows is compared with what ``Predictor.decode`` returns for the same
prompts, and the COCO file on disk is checked after each step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from samlabel.core.masks import Rle, decode_rle
from tests.qt.images import write_images
from tests.qt.window_helpers import click_image, key, open_window, saved_coco, wait_ready

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def predictor(fixtures_dir: Path):
    from samlabel.inference import load_predictor

    return load_predictor(fixtures_dir / "sam_vit_random" / "checkpoint.pth", backend="torch")


def _assert_shows(window, expected, index: int) -> None:
    """The window shows candidate ``index`` of ``expected`` (a ``Predictor.decode`` result):
    same scores and low-res logits, and on screen exactly the pixels that ``expected`` gives
    for the visible region at screen resolution."""
    session = window.controller.prompts
    np.testing.assert_allclose(session.prediction.scores, expected.scores, atol=1e-5)
    np.testing.assert_allclose(
        session.prediction.low_res_logits, expected.low_res_logits, atol=1e-4, rtol=1e-4
    )
    assert session.selected == index and window.candidates.selected == index
    shown, region = window.canvas.live_mask_view()
    reference = expected.mask_logits_for_view(index, shown.shape, region) > 0
    assert (shown == reference).mean() > 0.999
    assert shown.any()


def _coco_masks(coco: dict) -> list[np.ndarray]:
    masks = []
    for annotation in coco["annotations"]:
        seg = annotation["segmentation"]
        masks.append(decode_rle(Rle(tuple(seg["size"]), seg["counts"].encode("ascii"))))
    return masks


def test_label_flow_with_the_reference_model(qtbot, tmp_path, predictor) -> None:
    folder = tmp_path / "images"
    write_images(folder, 2, size=(200, 300))
    window = open_window(qtbot, tmp_path / "settings.ini", predictor, cache=True)
    assert window.folders.open_folder(folder)
    wait_ready(qtbot, window, timeout=120_000)
    c = window.controller
    embedding = c.embedding

    # Include point: the mask shown is the decoder's best candidate for that point.
    x1, y1 = click_image(qtbot, window, 120, 90)
    expected = predictor.decode(embedding, points=[(x1, y1, 1)])
    first = c.prompts.prediction
    _assert_shows(window, expected, expected.best_index())

    # Exclude point: decoded with the previous low-res logits fed back.
    x2, y2 = click_image(qtbot, window, 200, 120, Qt.MouseButton.RightButton)
    expected = predictor.decode(
        embedding,
        points=[(x1, y1, 1), (x2, y2, 0)],
        mask_input=first.low_res_logits[first.best_index()],
    )
    _assert_shows(window, expected, expected.best_index())
    for key_code, index in ((Qt.Key.Key_2, 1), (Qt.Key.Key_3, 2)):
        key(qtbot, window, key_code)
        _assert_shows(window, expected, index)

    # Enter accepts candidate 3 under the first category; it is on disk at once.
    key(qtbot, window, Qt.Key.Key_Return)
    coco = saved_coco(window)
    assert len(coco["annotations"]) == 1
    (saved,) = _coco_masks(coco)
    assert (saved == expected.masks[2]).mean() > 0.999
    assert coco["annotations"][0]["samlabel_score"] == pytest.approx(float(expected.scores[2]))

    # Another category, chosen with Ctrl+2, for the next mask.
    window.categories.add_category("background")
    key(qtbot, window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    key(qtbot, window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    click_image(qtbot, window, 60, 150)
    key(qtbot, window, Qt.Key.Key_Return)
    coco = saved_coco(window)
    names = {cat["id"]: cat["name"] for cat in coco["categories"]}
    assert [names[a["category_id"]] for a in coco["annotations"]] == ["object", "background"]

    # Undo, redo.
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(saved_coco(window)["annotations"]) == 1
    redo = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    key(qtbot, window, Qt.Key.Key_Z, redo)
    assert len(saved_coco(window)["annotations"]) == 2

    # Next image and back: the annotations are drawn again, the embedding comes from memory.
    key(qtbot, window, Qt.Key.Key_D)
    wait_ready(qtbot, window, timeout=120_000)
    assert c.row == 1 and c.layers.rowCount() == 0
    key(qtbot, window, Qt.Key.Key_A)
    assert c.embedding is embedding  # instant: no new encode
    wait_ready(qtbot, window)
    assert len(window.canvas._annotations) == 2 and c.layers.rowCount() == 2
    coco = saved_coco(window)
    assert len(coco["annotations"]) == 2
    assert {image["samlabel_status"] for image in coco["images"]} == {"in_progress", "unlabelled"}
