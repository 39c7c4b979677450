"""Compare one of our predictors with Meta's ``SAM2ImagePredictor`` results, case by case.

Bars (issue: SAM 2.1 at the same standard as SAM 1): masks agree on at least 99.9% of
pixels and scores within 1e-3, for every case.
"""

from __future__ import annotations

import numpy as np

from samlabel.inference.api import ImageEmbedding, Predictor

MASK_AGREEMENT = 0.999
SCORE_TOLERANCE = 1e-3


def check_predictor(
    predictor: Predictor, reference, image_name: str, embedding: ImageEmbedding | None = None
) -> list[str]:
    """Encode the image (unless its ``embedding`` is given), run every case; returns one line
    per case (for the log)."""
    if embedding is None:
        embedding = predictor.encode(reference.images[image_name])
    assert embedding.features.shape == (1, 256, 64, 64)
    assert [a.shape for a in embedding.high_res_features] == [(1, 32, 256, 256), (1, 64, 128, 128)]
    lines = []
    previous = None
    for case in reference.cases[image_name]:
        masks, scores, low_res, _ = reference.results[image_name][case.name]
        mask_input = None
        if case.refine:
            mask_input = previous.low_res_logits[previous.best_index()]
        prediction = predictor.decode(
            embedding,
            points=list(case.points) or None,
            box=case.box,
            mask_input=mask_input,
            multimask=case.multimask,
        )
        assert prediction.masks.shape == masks.shape, case.name
        assert prediction.low_res_logits.shape == low_res.shape, case.name
        agreement = float((prediction.masks == masks).mean())
        score_error = float(np.abs(prediction.scores - scores).max())
        lines.append(f"{image_name}/{case.name}: masks {agreement:.5f}, scores {score_error:.1e}")
        assert agreement >= MASK_AGREEMENT, lines[-1]
        assert score_error <= SCORE_TOLERANCE, lines[-1]
        # Every case must show a real mask, not an empty or full image on both sides.
        assert 0.01 < masks.mean() < 0.99, f"{case.name}: degenerate reference mask"
        previous = prediction
    return lines
