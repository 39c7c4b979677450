"""The ONNX Runtime backend (the default) against Meta's reference outputs."""

from __future__ import annotations

import pytest

from samlabel.inference import load_predictor
from samlabel.inference.onnx_backend import OnnxPredictor
from tests.inference.parity import CASE_NAMES, ReferenceCases

MODELS = ["sam_vit_random", "mobile_sam_random"]


@pytest.fixture(scope="module", params=MODELS)
def reference(request, fixtures_dir, onnx_export_root):
    folder = fixtures_dir / request.param
    cases = ReferenceCases(folder)
    from samlabel.inference.onnx_export import ensure_onnx

    onnx_folder = ensure_onnx(folder / "checkpoint.pth", cache_root=onnx_export_root)
    predictor = load_predictor(onnx_folder, backend="onnxruntime")
    assert isinstance(predictor, OnnxPredictor)
    return cases, predictor, predictor.encode(cases.image)


def test_embedding_matches_reference(reference):
    cases, _, embedding = reference
    assert embedding.original_size == cases.image.shape[:2]
    cases.check_embedding(embedding.features)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case_matches_reference(reference, name):
    cases, predictor, embedding = reference
    cases.check_case(predictor, embedding, name)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_embedding_from_cache_gives_the_same_masks(reference, name):
    """An embedding without the per-image decoder work (as loaded from the disk cache)."""
    from samlabel.inference.api import ImageEmbedding

    cases, predictor, embedding = reference
    bare = ImageEmbedding(embedding.features.copy(), embedding.original_size, embedding.input_size)
    cases.check_case(predictor, bare, name)
    uses_mask_input = cases.prompts(name)[2] is not None
    assert ("layer0_kv" in bare.extras) != uses_mask_input
    assert ("image_tokens" in bare.extras) != uses_mask_input  # format 4's per-image outputs


def test_a_folder_exported_before_format_4_still_gives_the_reference(reference, tmp_path):
    """Folders a person exported with an earlier version keep opening as they are: there the
    per-image graph gives the first layer's keys and values only, and the per-click graph
    takes the embedding (format 3). The backend feeds whichever the folder has."""
    import json
    import shutil

    import torch
    from torch import nn

    from samlabel.inference.onnx_convert import convert_to_onnx
    from samlabel.inference.onnx_folder import MANIFEST_NAME, open_onnx_folder
    from samlabel.sam.checkpoint import load_sam_model
    from samlabel.sam.onnx_modules import (
        DecoderImageSide,
        DecoderPromptSide,
        example_decoder_inputs,
    )

    cases, predictor, _ = reference
    model, _ = load_sam_model(cases.folder / "checkpoint.pth")
    model.eval()

    class ImageSideFormat3(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.image_side = DecoderImageSide(model)

        def forward(self, image_embeddings):
            return self.image_side(image_embeddings)[:2]

    class PromptSideFormat3(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.image_side = DecoderImageSide(model)
            self.prompt_side = DecoderPromptSide(model)

        def forward(self, image_embeddings, layer0_keys, layer0_values, coords, labels):
            _, _, tokens, tokens_pe = self.image_side(image_embeddings)
            return self.prompt_side(tokens, tokens_pe, layer0_keys, layer0_values, coords, labels)

    old = tmp_path / "format3"
    shutil.copytree(predictor.folder.root, old)
    embedding, coords, labels, _, _ = example_decoder_inputs()
    with torch.no_grad():
        keys, values = ImageSideFormat3()(embedding)
    convert_to_onnx(
        ImageSideFormat3(),
        (embedding,),
        old / "decoder_image.onnx",
        ["image_embeddings"],
        ["layer0_keys", "layer0_values"],
        points_axis=None,
    )
    convert_to_onnx(
        PromptSideFormat3(),
        (embedding, keys, values, coords, labels),
        old / "decoder_prompt.onnx",
        ["image_embeddings", "layer0_keys", "layer0_values", "point_coords", "point_labels"],
        ["iou_predictions", "low_res_masks"],
        points_axis={3: 1, 4: 1},
    )
    manifest = json.loads((old / MANIFEST_NAME).read_text())
    (old / MANIFEST_NAME).write_text(json.dumps({**manifest, "version": 3}))
    older = OnnxPredictor(open_onnx_folder(old))
    embedding = older.encode(cases.image)
    assert "image_tokens" not in embedding.extras
    for name in CASE_NAMES:
        cases.check_case(older, embedding, name)
