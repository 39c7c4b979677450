"""The quality gate a reduced precision (or another backend) must pass before it is used.

A candidate predictor is compared with the fp32 reference on a generated image and a fixed
set of prompts: its embedding must lie within 2% of the reference embedding's largest absolute
value, and every mask it returns must agree with the reference's on at least 99% of pixels.
The image and prompts are fixed, so the verdict for a model on a machine does not change
from one run to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from samlabel.inference.api import Box, ImageEmbedding, Point, Prediction, Predictor

#: Largest embedding difference accepted, relative to the reference's largest magnitude.
EMBEDDING_TOLERANCE = 0.02
#: Smallest fraction of pixels on which each mask must agree with the reference.
MASK_AGREEMENT = 0.99
#: (H, W) of the generated image (landscape, not a multiple of 64, so resizing is exercised).
GATE_IMAGE_SIZE = (480, 720)

#: Fixed prompts ``(points, box, multimask)`` in pixels of the gate image (x right, y down).
GATE_PROMPTS: tuple[tuple[list[Point] | None, Box | None, bool], ...] = (
    ([(200.0, 150.0, 1)], None, True),
    ([(520.0, 330.0, 1), (600.0, 120.0, 0)], None, True),
    (None, (80.0, 60.0, 330.0, 260.0), True),
    ([(460.0, 300.0, 1)], (380.0, 220.0, 660.0, 420.0), False),
    ([(100.0, 400.0, 1), (150.0, 420.0, 1), (360.0, 240.0, 0)], None, False),
)


def gate_image(size: tuple[int, int] = GATE_IMAGE_SIZE) -> np.ndarray:
    """A deterministic ``(H, W, 3)`` uint8 RGB test scene: gradient, disc, square, stripes.

    Shapes with sharp edges give the decoder something to segment, and the gradient and
    stripes give the encoder a range of frequencies; no randomness, so every run sees the
    same pixels.
    """
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    image = np.empty((h, w, 3), np.float32)
    image[..., 0] = 40 + 120 * x / w
    image[..., 1] = 60 + 100 * y / h
    image[..., 2] = 90 + 40 * np.sin(x / 23.0) * np.cos(y / 31.0)
    disc = (x - 0.28 * w) ** 2 + (y - 0.32 * h) ** 2 < (0.16 * h) ** 2
    image[disc] = (230, 60, 50)
    square = (x > 0.55 * w) & (x < 0.9 * w) & (y > 0.48 * h) & (y < 0.86 * h)
    image[square] = (40, 200, 90)
    stripes = (y > 0.75 * h) & (x < 0.4 * w) & ((x // 12) % 2 == 0)
    image[stripes] = (250, 250, 240)
    return np.clip(image, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class ReferenceOutputs:
    """The fp32 reference's embedding and predictions on the gate image and prompts."""

    embedding: ImageEmbedding
    predictions: tuple[Prediction, ...]


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict on one candidate.

    Attributes:
        embedding_error: max |candidate - reference| / max |reference| of the embedding.
        mask_agreement: the worst per-mask fraction of agreeing pixels over all prompts.
        passed: both within their limits.
        reason: why it was refused, in words ("" when it passed).
    """

    embedding_error: float
    mask_agreement: float
    passed: bool
    reason: str = ""


def predict_gate_prompts(predictor: Predictor, embedding: ImageEmbedding) -> tuple[Prediction, ...]:
    """``predictor``'s predictions for :data:`GATE_PROMPTS` on ``embedding``."""
    return tuple(
        predictor.decode(embedding, points=points, box=box, multimask=multimask)
        for points, box, multimask in GATE_PROMPTS
    )


def reference_outputs(
    reference: Predictor,
    image: np.ndarray | None = None,
    embedding: ImageEmbedding | None = None,
) -> ReferenceOutputs:
    """The fp32 ``reference``'s embedding of the gate image and its masks for the prompts.

    ``embedding``: ``reference.encode(image)`` when the caller has it already.
    """
    if embedding is None:
        embedding = reference.encode(gate_image() if image is None else image)
    return ReferenceOutputs(embedding, predict_gate_prompts(reference, embedding))


def check_candidate(
    reference: ReferenceOutputs, candidate: Predictor, embedding: ImageEmbedding
) -> GateResult:
    """Judge ``candidate`` by its ``embedding`` of the gate image and its masks for the prompts.

    ``embedding`` must be ``candidate.encode(gate_image())`` (the caller has it already from a
    warm-up run, so the gate costs no extra encode).
    """
    expected = reference.embedding.features
    scale = float(np.abs(expected).max()) or 1.0
    error = float(np.abs(embedding.features.astype(np.float32) - expected).max() / scale)
    if not np.isfinite(error):
        return GateResult(float("inf"), 0.0, False, "the embedding has NaN or infinite values")
    agreement = 1.0
    got_all = predict_gate_prompts(candidate, embedding)
    for ref, got in zip(reference.predictions, got_all, strict=True):
        if not (np.isfinite(got.scores).all() and np.isfinite(got.low_res_logits).all()):
            return GateResult(error, 0.0, False, "the decoder returns NaN or infinite values")
        if got.masks.shape != ref.masks.shape:
            return GateResult(error, 0.0, False, "it returned masks of the wrong shape")
        for i in range(ref.masks.shape[0]):
            agreement = min(agreement, float((got.masks[i] == ref.masks[i]).mean()))
    reasons = []
    if error > EMBEDDING_TOLERANCE:
        reasons.append(
            f"embedding differs by {error:.2%} of its largest value "
            f"(limit {EMBEDDING_TOLERANCE:.0%})"
        )
    if agreement < MASK_AGREEMENT:
        reasons.append(f"masks agree on only {agreement:.2%} of pixels (need {MASK_AGREEMENT:.0%})")
    return GateResult(error, agreement, not reasons, "; ".join(reasons))
