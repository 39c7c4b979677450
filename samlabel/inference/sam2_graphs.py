"""SAM 2's exported graphs run by the ONNX Runtime and OpenVINO predictors.

:class:`~samlabel.inference.onnx_backend.OnnxPredictor` (and OpenVINO's subclass) open a
folder's ``encoder`` and ``decoder`` graphs whatever the family; for a ``"sam2"`` folder they
hand ``encode`` / ``decode`` to these functions, which do SAM 2's pre- and postprocessing
(:mod:`samlabel.inference.sam2_transforms`) around the graphs of
:mod:`samlabel.inference.sam2_export`. numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from samlabel.inference.api import Box, ImageEmbedding, Point, Prediction
from samlabel.inference.prompts import decoder_mask_input
from samlabel.inference.sam2_transforms import (
    LOGIT_LIMIT,
    preprocess_sam2,
    sam2_prompt_arrays,
    stability_pick,
)


def require_high_res(embedding: ImageEmbedding) -> tuple[np.ndarray, np.ndarray]:
    """The two high-resolution maps of a SAM 2 embedding (ValueError for a SAM 1 one)."""
    if len(embedding.high_res_features) != 2:
        raise ValueError(
            "this embedding was made by a SAM 1 model; encode the image again with SAM 2."
        )
    s0, s1 = embedding.high_res_features
    return np.ascontiguousarray(s0, np.float32), np.ascontiguousarray(s1, np.float32)


def encode_sam2(encoder, image: np.ndarray) -> ImageEmbedding:
    """Run an encoder graph (``run(None, feeds)``) on ``image`` (``HxW[xC]`` uint8/uint16)."""
    tensor, input_size = preprocess_sam2(image)
    features, s0, s1 = encoder.run(None, {"image": tensor})
    return ImageEmbedding(
        features=np.ascontiguousarray(features, dtype=np.float32),
        original_size=(int(image.shape[0]), int(image.shape[1])),
        input_size=input_size,
        high_res_features=(
            np.ascontiguousarray(s0, dtype=np.float32),
            np.ascontiguousarray(s1, dtype=np.float32),
        ),
        stretched=True,
    )


def decode_sam2(
    decoder,
    embedding: ImageEmbedding,
    points: Sequence[Point] | None,
    box: Box | None,
    mask_input: np.ndarray | None,
    multimask: bool,
    prompt_decoder=None,
) -> Prediction:
    """Run a decoder graph for one prompt set; masks as ``SAM2ImagePredictor.predict``.

    ``prompt_decoder``: the split decoder's per-click graph (``decoder_prompt.onnx``), used
    without a mask input when the embedding carries the per-image part
    (``extras["layer0_kv"]``, see ``OnnxPredictor.prepare``); else ``decoder`` runs.
    """
    coords, labels = sam2_prompt_arrays(points, box, embedding.original_size)
    if coords.shape[1] == 0:
        # No prompt at all: the graph needs one token; a padding point adds only the
        # "not a point" embedding.
        coords = np.zeros((1, 1, 2), np.float32)
        labels = np.full((1, 1), -1.0, np.float32)
    s0, s1 = require_high_res(embedding)
    feeds = {
        "image_embeddings": np.ascontiguousarray(embedding.features, np.float32),
        "high_res_s0": s0,
        "high_res_s1": s1,
        "point_coords": coords,
        "point_labels": labels,
    }
    layer0_kv = embedding.extras.get("layer0_kv")
    if mask_input is None and prompt_decoder is not None and layer0_kv is not None:
        feeds["layer0_keys"], feeds["layer0_values"] = layer0_kv
        scores, low_res = prompt_decoder.run(None, feeds)
    else:
        feeds["mask_input"], feeds["has_mask_input"] = decoder_mask_input(mask_input)
        scores, low_res = decoder.run(None, feeds)
    low_res, scores = stability_pick(np.asarray(low_res), np.asarray(scores), multimask)
    return Prediction(
        scores=np.ascontiguousarray(scores[0], np.float32),
        low_res_logits=np.clip(low_res[0], -LOGIT_LIMIT, LOGIT_LIMIT).astype(np.float32),
        original_size=embedding.original_size,
        input_size=embedding.input_size,
        stretched=True,
    )
