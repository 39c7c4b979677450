"""A SAM 2.1 checkpoint labels through the session the window runs on, unchanged.

The session (no Qt) is what the window drives: a click decoded with the image's two
high-resolution maps, the chosen candidate accepted at full size and saved as COCO. The
mask on disk is the one Meta's predictor gives for the same click.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from samlabel.inference import load_predictor
from tests.sam2.reference import build_reference, make_image, reference_predictor, write_checkpoint
from tests.session.helpers import opened


@pytest.fixture(scope="module")
def tiny_sam2(tmp_path_factory):
    model = build_reference("tiny")
    folder = tmp_path_factory.mktemp("sam2_session")
    return model, write_checkpoint(model, folder / "sam2.1_hiera_tiny_random.pt")


def test_a_click_on_a_sam2_model_is_saved_as_metas_mask(tiny_sam2, tmp_path):
    model, checkpoint = tiny_sam2
    image = make_image(180, 240)
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(image).save(folder / "scene.png")

    predictor = load_predictor(checkpoint, backend="torch")
    session, runner = opened(folder, predictor)
    assert session.image.status == "ready"
    assert len(session.image.embedding.high_res_features) == 2  # SAM 2's maps travel along

    session.add_point(150.0, 90.0, 1)
    runner.run()
    prediction = session.prompts.prediction
    assert prediction is not None and prediction.scores.shape == (3,)
    chosen = session.prompts.selected
    assert session.accept() is not None
    runner.run()
    assert session.store.save()

    coco = json.loads((folder / "annotations.json").read_text("utf-8"))
    (saved,) = coco["annotations"]
    (annotation,) = session.document.annotations
    mask = session.document.mask(annotation.id)  # the mask the file's RLE holds
    assert saved["id"] == annotation.id and saved["area"] == int(mask.sum()) > 0
    reference = reference_predictor(model)
    with torch.inference_mode():
        reference.set_image(image)
        masks, scores, _ = reference.predict(
            point_coords=np.array([[150.0, 90.0]]), point_labels=np.array([1])
        )
    np.testing.assert_allclose(prediction.scores, scores, atol=1e-3)
    assert mask.shape == (180, 240)
    assert (mask == masks[chosen].astype(bool)).mean() >= 0.999
    session.shutdown()
