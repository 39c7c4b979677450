"""A proposal as a prompt's mask input: its mask made into SAM's low-res logits.

The generator keeps only the masks of its survivors, not their logits, so a proposal refined
by a click gets logits made from its mask: the mask is resized as the encoder resizes the
image (long side 1024, padded bottom and right), averaged down to 256x256, and mapped to
signed values, positive inside. That is what SAM's interactive tools feed back for a mask
that did not come from the decoder.
"""

from __future__ import annotations

import cv2
import numpy as np

from samlabel.inference.api import IMAGE_SIZE, LOW_RES_SIZE, ImageEmbedding, Prediction

#: Logit at the mask's inside and outside far from its edge.
LOGIT_SCALE = 20.0


def proposal_logits(mask: np.ndarray, embedding: ImageEmbedding) -> np.ndarray:
    """``(256, 256)`` float32 logits of ``mask`` ``(H, W)`` bool (original image pixels)."""
    in_h, in_w = embedding.input_size
    resized = cv2.resize(mask.astype(np.float32), (in_w, in_h), interpolation=cv2.INTER_AREA)
    padded = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    padded[:in_h, :in_w] = resized
    low = cv2.resize(padded, (LOW_RES_SIZE, LOW_RES_SIZE), interpolation=cv2.INTER_AREA)
    return np.clip((low - 0.5) * 4.0 * LOGIT_SCALE, -LOGIT_SCALE, LOGIT_SCALE).astype(np.float32)


def proposal_prediction(mask: np.ndarray, score: float, embedding: ImageEmbedding) -> Prediction:
    """A one-candidate :class:`Prediction` holding ``mask`` as logits: the prompt step a
    refined proposal starts from (the next click feeds these logits back)."""
    logits = proposal_logits(mask, embedding)[None]
    return Prediction(
        np.array([score], np.float32), logits, embedding.original_size, embedding.input_size
    )
