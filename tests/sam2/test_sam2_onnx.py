"""SAM 2 exported to ONNX, run in ONNX Runtime and OpenVINO (fp32), against Meta's results.

The export goes through the same path as a user's first open of a checkpoint
(``load_predictor`` -> export cache); OpenVINO then reuses that folder.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from samlabel.inference.embedding_cache import EmbeddingCache, EmbeddingKey
from samlabel.inference.loader import load_predictor
from samlabel.inference.openvino_backend import openvino_available
from samlabel.inference.sam2_graphs import decode_sam2
from tests.sam2.parity import check_predictor


@pytest.fixture(scope="module")
def onnx_predictor(tiny_reference):
    return load_predictor(tiny_reference.checkpoint, backend="onnxruntime")


def test_the_export_is_a_sam2_folder_with_the_whole_and_the_split_decoder(onnx_predictor):
    folder = onnx_predictor.folder
    assert folder.family == "sam2"
    assert set(folder.files) == {"encoder", "decoder", "decoder_image", "decoder_prompt"}
    assert onnx_predictor.model_name == "SAM 2.1 Hiera-T"


@pytest.fixture(scope="module")
def wide_embedding(onnx_predictor, tiny_reference):
    return onnx_predictor.encode(tiny_reference.images["rgb_wide"])


def test_onnxruntime_matches_meta(onnx_predictor, tiny_reference, wide_embedding):
    check_predictor(onnx_predictor, tiny_reference, "rgb_wide", wide_embedding)


def test_onnxruntime_matches_meta_on_a_grayscale_image(onnx_predictor, tiny_reference):
    check_predictor(onnx_predictor, tiny_reference, "gray_tall")


def test_clicks_without_a_mask_input_run_the_split_decoder_as_the_whole_one(
    onnx_predictor, wide_embedding
):
    """The per-image part is computed with the embedding; a click without a mask input runs
    the per-click graph, whose masks and scores are the whole decoder's."""
    keys, values = wide_embedding.extras["layer0_kv"]
    assert keys.shape == values.shape == (1, 8, 4096, 16)
    points = [(120.0, 160.0, 1), (300.0, 80.0, 0)]
    per_click = CountingGraph(onnx_predictor._decoder_prompt)
    whole_graph = CountingGraph(onnx_predictor._decoder)
    split = decode_sam2(whole_graph, wide_embedding, points, None, None, True, per_click)
    assert (per_click.runs, whole_graph.runs) == (1, 0)
    whole = decode_sam2(whole_graph, wide_embedding, points, None, None, True)
    assert whole_graph.runs == 1
    np.testing.assert_allclose(split.scores, whole.scores, atol=1e-5)
    np.testing.assert_allclose(split.low_res_logits, whole.low_res_logits, atol=1e-3)
    refined = decode_sam2(
        whole_graph, wide_embedding, points, None, split.low_res_logits[0], True, per_click
    )
    assert (per_click.runs, whole_graph.runs) == (1, 2)  # a mask input needs the whole one
    assert refined.scores.shape == (3,)
    by_predictor = onnx_predictor.decode(wide_embedding, points=points)
    np.testing.assert_array_equal(by_predictor.low_res_logits, split.low_res_logits)


class CountingGraph:
    """A graph's ``run`` that counts its calls."""

    def __init__(self, graph) -> None:
        self.graph = graph
        self.runs = 0

    def run(self, output_names, feeds):
        self.runs += 1
        return self.graph.run(output_names, feeds)


def test_the_decoder_takes_a_batch_of_prompt_sets(onnx_predictor, wide_embedding):
    """Several prompt sets in one run (automatic masks need it) give each set's own masks."""
    embedding = wide_embedding
    clicks = [(120.0, 160.0, 1), (300.0, 80.0, 1), (60.0, 250.0, 1)]
    singles = [onnx_predictor.decode(embedding, points=[c]) for c in clicks]
    session = ort.InferenceSession(str(onnx_predictor.folder.files["decoder"]))
    h, w = embedding.original_size
    coords = np.array([[[x * 1024 / w, y * 1024 / h], [0, 0]] for x, y, _ in clicks], np.float32)
    labels = np.array([[1, -1]] * 3, np.float32)
    s0, s1 = embedding.high_res_features
    scores, low_res = session.run(
        None,
        {
            "image_embeddings": embedding.features,
            "high_res_s0": s0,
            "high_res_s1": s1,
            "point_coords": coords,
            "point_labels": labels,
            "mask_input": np.zeros((3, 1, 256, 256), np.float32),
            "has_mask_input": np.zeros(3, np.float32),
        },
    )
    assert low_res.shape == (3, 4, 256, 256)
    for i, single in enumerate(singles):
        np.testing.assert_allclose(scores[i, 1:], single.scores, atol=1e-4)
        assert ((low_res[i, 1:] > 0) == (single.low_res_logits > 0)).mean() > 0.999


def test_a_cached_embedding_decodes_as_the_fresh_one(onnx_predictor, wide_embedding, tmp_path):
    embedding = wide_embedding
    cache = EmbeddingCache(tmp_path)
    key = EmbeddingKey(onnx_predictor.model_id, "a" * 64)
    assert cache.put(key, embedding) is not None
    restored = cache.get(key)
    assert restored is not None and restored.stretched
    fresh = onnx_predictor.decode(embedding, points=[(50.0, 100.0, 1)])
    again = onnx_predictor.decode(restored, points=[(50.0, 100.0, 1)])
    np.testing.assert_array_equal(fresh.masks, again.masks)


@pytest.mark.skipif(not openvino_available(), reason="OpenVINO is not installed")
def test_openvino_fp32_matches_meta(tiny_reference, onnx_predictor):
    predictor = load_predictor(tiny_reference.checkpoint, backend="openvino", precision="fp32")
    assert predictor.backend == "openvino"
    check_predictor(predictor, tiny_reference, "rgb_wide")
