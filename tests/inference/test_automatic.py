"""Segment everything agrees with Meta's ``SamAutomaticMaskGenerator``.

The model is :mod:`tests.inference.region_model`: weights set by hand so that a point selects
its colour region (random weights would give one whole-image texture mask after NMS, and the
comparison would cover one mask). Meta's generator runs on a copy of the same weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from samlabel.inference.api import Predictor
from samlabel.inference.automatic import LOW_RES_STABILITY_SLACK, AutomaticMaskGenerator
from samlabel.inference.automatic_filter import remove_small_regions, stability_score
from samlabel.inference.automatic_grid import build_all_layer_point_grids, generate_crop_boxes
from samlabel.inference.postprocess import upsample_logits
from samlabel.inference.torch_backend import TorchPredictor
from tests.inference.automatic_reference import match_fraction, meta_generator
from tests.inference.region_model import build_region_model, region_config, shapes_image
from tests.meta_reference import segment_anything

EVERYTHING = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}


@pytest.fixture(scope="module")
def model():
    return build_region_model()


@pytest.fixture(scope="module")
def image():
    return shapes_image()


@pytest.mark.parametrize(
    "options",
    [
        {"points_per_side": 8, **EVERYTHING},
        {"points_per_side": 4, "crop_n_layers": 1, **EVERYTHING},
    ],
    ids=["grid", "crops"],
)
def test_masks_agree_with_meta_generator(model, image, options):
    reference = meta_generator(model, region_config(), **options).generate(image)
    ours = AutomaticMaskGenerator(
        TorchPredictor(model), output_mode="coco_rle", **options
    ).generate(image)

    assert len(reference) >= 8, "the comparison must cover many distinct masks"
    assert abs(len(ours) - len(reference)) <= 0.05 * len(reference)
    assert match_fraction(reference, ours) >= 0.95
    assert match_fraction(ours, reference) >= 0.95
    # Same order (best first after NMS) and the same record fields.
    for ref, mine in zip(reference, ours, strict=False):
        assert mine["bbox"] == pytest.approx(ref["bbox"], abs=1)
        assert mine["predicted_iou"] == pytest.approx(ref["predicted_iou"], abs=1e-4)
        assert mine["stability_score"] == pytest.approx(ref["stability_score"], abs=0.01)
        assert mine["point_coords"][0] == pytest.approx(ref["point_coords"][0])
        assert mine["crop_box"] == ref["crop_box"]
        assert mine["area"] == pytest.approx(ref["area"], rel=0.02)


def test_low_resolution_stability_is_close_to_full_resolution(model, image):
    """The low-res pre-filter only drops what the exact score would drop too."""
    predictor = TorchPredictor(model)
    embedding = predictor.encode(image)
    grid = build_all_layer_point_grids(5, 0, 1)[0] * [image.shape[1], image.shape[0]]
    prompts = np.concatenate([grid, np.ones((len(grid), 1))], axis=1)[:, None, :]
    logits, _ = predictor.decode_batch(embedding, prompts)
    logits = logits.reshape(-1, 256, 256)
    rows = -(-embedding.input_size[0] // 4)
    cols = -(-embedding.input_size[1] // 4)
    low = stability_score(logits[:, :rows, :cols], 0.0, 1.0)
    full = stability_score(
        upsample_logits(logits, embedding.input_size, embedding.original_size), 0.0, 1.0
    )
    finite = np.isfinite(full) & np.isfinite(low)
    assert finite.sum() > 40
    assert np.abs(low - full)[finite].max() < LOW_RES_STABILITY_SLACK


def test_default_thresholds_keep_what_meta_keeps(model, image):
    options = {"points_per_side": 5, "stability_score_thresh": 0.9, "pred_iou_thresh": 0.0}
    reference = meta_generator(model, region_config(), **options).generate(image)
    ours = AutomaticMaskGenerator(
        TorchPredictor(model), output_mode="coco_rle", **options
    ).generate(image)
    assert len(ours) == len(reference)
    assert [r["segmentation"] for r in ours] == [r["segmentation"] for r in reference]


def test_decode_batch_equals_one_prompt_at_a_time(model, image):
    predictor = TorchPredictor(model)
    embedding = predictor.encode(image)
    points = np.array([[[30.0, 40.0, 1.0]], [[150.0, 100.0, 1.0]], [[300.0, 200.0, 1.0]]])
    logits, scores = predictor.decode_batch(embedding, points)
    looped_logits, looped_scores = Predictor.decode_batch(predictor, embedding, points)
    assert logits.shape == (3, 3, 256, 256) and scores.shape == (3, 3)
    np.testing.assert_allclose(logits, looped_logits, atol=1e-4)
    np.testing.assert_allclose(scores, looped_scores, atol=1e-5)


def test_exported_batch_decoder_reproduces_torch(model, tmp_path):
    import onnxruntime as ort

    from samlabel.inference.automatic_export import export_batch_decoder
    from samlabel.sam.onnx_modules import DecoderImageSide, DecoderPromptBatch

    path = tmp_path / "decoder_batch.onnx"
    export_batch_decoder(model, path)  # also checks itself at a batch size not traced
    embedding = torch.randn(1, 64, 64, 64, generator=torch.Generator().manual_seed(3))
    coords = torch.rand(7, 2, 2, generator=torch.Generator().manual_seed(4)) * 1024
    labels = torch.tensor([[1.0, -1.0]] * 7)
    with torch.no_grad():
        keys, values = DecoderImageSide(model)(embedding)[:2]
        iou, masks = DecoderPromptBatch(model)(embedding, keys, values, coords, labels)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = ["image_embeddings", "layer0_keys", "layer0_values", "point_coords", "point_labels"]
    inputs = (embedding, keys, values, coords, labels)
    got_iou, got_masks = session.run(
        None, {n: t.numpy() for n, t in zip(names, inputs, strict=True)}
    )
    np.testing.assert_allclose(got_iou, iou.numpy(), atol=1e-4)
    np.testing.assert_allclose(got_masks, masks.numpy(), atol=1e-3 * np.abs(masks.numpy()).max())


def test_grids_and_crop_boxes_are_meta_s():
    segment_anything()
    from segment_anything.utils import amg

    for size, layers in (((480, 640), 1), ((1000, 333), 2)):
        assert generate_crop_boxes(size, layers, 512 / 1500) == (
            [tuple(b) for b in amg.generate_crop_boxes(size, layers, 512 / 1500)[0]],
            amg.generate_crop_boxes(size, layers, 512 / 1500)[1],
        )
    theirs_all = amg.build_all_layer_point_grids(32, 2, 2)
    for ours, theirs in zip(build_all_layer_point_grids(32, 2, 2), theirs_all, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_small_regions_and_holes_are_removed_as_meta_does():
    segment_anything()
    from segment_anything.utils import amg

    rng = np.random.default_rng(0)
    for _ in range(5):
        mask = rng.random((60, 80)) > 0.6
        for mode in ("holes", "islands"):
            ours, changed = remove_small_regions(mask, 20, mode)
            theirs, their_changed = amg.remove_small_regions(mask, 20, mode)
            assert changed == their_changed
            np.testing.assert_array_equal(ours, theirs)


def test_batched_decoder_is_the_reference_network_with_eight_heads():
    """The cheaper attention order of the batch decoder changes nothing but rounding."""
    from samlabel.sam.build import SamConfig, build_sam
    from samlabel.sam.onnx_modules import DecoderImageSide, DecoderPromptBatch
    from tests.inference.tiny_models import TINY_VIT

    torch.manual_seed(0)
    full_decoder = build_sam(SamConfig(encoder=TINY_VIT)).eval()  # 256 channels, 8 heads
    generator = torch.Generator().manual_seed(5)
    embedding = torch.randn(1, 256, 64, 64, generator=generator)
    coords = torch.rand(3, 3, 2, generator=generator) * 1024
    labels = torch.tensor([[1.0, 0.0, -1.0], [1.0, -1.0, -1.0], [0.0, 1.0, -1.0]])
    with torch.no_grad():
        keys, values = DecoderImageSide(full_decoder)(embedding)[:2]
        iou, masks = DecoderPromptBatch(full_decoder)(embedding, keys, values, coords, labels)
        ref_masks, ref_iou = full_decoder.decode(
            embedding, coords, labels, torch.zeros(1, 1, 256, 256), torch.zeros(1)
        )
    scale = ref_masks.abs().max().item()
    assert (masks - ref_masks).abs().max().item() <= 1e-4 * scale
    assert (iou - ref_iou).abs().max().item() <= 1e-5
