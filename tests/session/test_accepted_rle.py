"""An accepted mask is made and encoded off the document: the document takes the RLE as it is.

The session runs with the synchronous runner (no Qt); the decoder stands in with texture-like
logits (a boundary in every low-res pixel, as random weights draw them), so every pixel of the
saved mask depends on Meta's exact postprocessing.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from samlabel.core import masks as masks_module
from samlabel.core.document import Document
from samlabel.core.masks import Rle
from samlabel.session.work import MaskRequest
from tests.inference.test_full_mask import meta_masks
from tests.qt.fakes import FakePredictor
from tests.session.helpers import opened


class TexturePredictor(FakePredictor):
    """:class:`FakePredictor` whose candidates are seeded noise, bilinearly smoothed."""

    def decode(self, embedding, points=None, box=None, mask_input=None, multimask=True):
        prediction = super().decode(embedding, points, box, mask_input, multimask)
        rng = np.random.default_rng(len(points or ()))
        for logits in prediction.low_res_logits:
            coarse = rng.standard_normal((128, 128)).astype(np.float32)
            logits[...] = cv2.resize(coarse, (256, 256), interpolation=cv2.INTER_LINEAR)
        return prediction


def test_an_accepted_click_saves_metas_mask_encoded_before_the_document(
    image_folder: Path, monkeypatch
) -> None:
    session, runner = opened(image_folder, TexturePredictor())
    session.add_point(60, 50, 1)
    runner.run()
    prediction = session.prompts.prediction
    session.choose_candidate(0)
    assert session.accept() is not None
    (request,) = runner.pending()
    assert isinstance(request, MaskRequest)

    # The document's side (the GUI thread's in the window) must not encode: the module's
    # encoder raises from now on. The runner's side made its encoder bound at import, as
    # the worker thread runs it.
    def no_encoding(mask):
        raise AssertionError("the document encoded a mask")

    monkeypatch.setattr(masks_module, "encode_mask", no_encoding)
    given = []
    add_annotation = Document.add_annotation

    def recording(self, image_id, category_id, mask, *args, **kwargs):
        given.append(mask)
        return add_annotation(self, image_id, category_id, mask, *args, **kwargs)

    monkeypatch.setattr(Document, "add_annotation", recording)
    runner.run()
    assert len(given) == 1 and isinstance(given[0], Rle)

    expected = meta_masks(prediction.low_res_logits[:1], prediction.original_size)[0]
    assert 0 < expected.sum() < expected.size  # a mask with boundary all over
    (annotation,) = session.document.annotations
    np.testing.assert_array_equal(annotation.rle.decode(), expected)
    assert annotation.area == int(expected.sum())
    assert session.store.save()
    coco = json.loads((image_folder / "annotations.json").read_text("utf-8"))
    (saved,) = coco["annotations"]
    segmentation = saved["segmentation"]
    saved_rle = Rle(tuple(segmentation["size"]), segmentation["counts"].encode())
    np.testing.assert_array_equal(saved_rle.decode(), expected)
    assert saved["area"] == int(expected.sum())
    session.shutdown()


def test_the_document_refuses_an_rle_of_another_size(image_folder: Path) -> None:
    session, _ = opened(image_folder, FakePredictor())
    image = session.document.image(session.image_id)
    height, width = image.size
    rle = masks_module.encode_mask(np.ones((height, width + 1), bool, order="F"))
    with pytest.raises(ValueError, match="does not fit"):
        session.document.add_annotation(image.id, session.edits.ensure_category(), rle)
    assert not session.document.annotations
    session.shutdown()
