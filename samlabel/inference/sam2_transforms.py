"""SAM 2's image preprocessing and postprocessing (numpy only), as Meta's ``SAM2Transforms``.

- Image: RGB scaled to float 0..1, then stretched to 1024x1024 (aspect not kept, no padding)
  with bilinear *antialiased* resampling of the float image, then ImageNet mean/std. PIL's
  32-bit float ("F") bilinear resize is the same triangle filter (support scaled by the
  shrink factor) as ``torch.nn.functional.interpolate(..., antialias=True)``; resizing the
  8-bit image instead would round and move ~0.1% of mask pixels.
- Prompts: ``(x * 1024 / W, y * 1024 / H)`` per axis; that is
  :func:`samlabel.inference.transforms.transform_coords` with the input size ``(1024, 1024)``.
- Masks: the ``(256, 256)`` low-res logits cover the whole stretched frame and are resized
  bilinearly straight to ``(H, W)`` (no 1024 step, no crop); low-res logits are clamped to
  +-32 where Meta clamps them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image

from samlabel.inference.api import IMAGE_SIZE, Box, Point
from samlabel.inference.prompts import build_prompt_arrays
from samlabel.inference.transforms import to_rgb_uint8

MEAN_01 = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD_01 = np.array([0.229, 0.224, 0.225], dtype=np.float32)
#: SAM 2's embedding frame: the whole image stretched to the model's square.
STRETCHED_SIZE = (IMAGE_SIZE, IMAGE_SIZE)
#: Meta clamps the low-res logits it returns to this magnitude.
LOGIT_LIMIT = 32.0


def preprocess_sam2(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Image (anything :func:`to_rgb_uint8` accepts) -> ``((1, 3, 1024, 1024) float32,
    (1024, 1024))``: the model input and the size of the image inside the 1024 frame."""
    rgb = to_rgb_uint8(image).astype(np.float32) / 255.0
    channels = []
    for c in range(3):
        plane = Image.fromarray(np.ascontiguousarray(rgb[:, :, c]), mode="F")
        resized = np.asarray(plane.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR))
        channels.append((resized - MEAN_01[c]) / STD_01[c])
    tensor = np.stack(channels)[None].astype(np.float32)
    return np.ascontiguousarray(tensor), STRETCHED_SIZE


def upsample_stretched(low_res_logits: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
    """``(K, 256, 256)`` logits of the stretched frame -> ``(K, H, W)`` float32, bilinear
    (half-pixel centres, no antialiasing: OpenCV's ``INTER_LINEAR`` is torch's bilinear)."""
    logits = np.ascontiguousarray(low_res_logits, dtype=np.float32)
    if logits.ndim == 2:
        logits = logits[None]
    height, width = original_size
    out = np.empty((logits.shape[0], height, width), dtype=np.float32)
    for i in range(logits.shape[0]):
        out[i] = cv2.resize(logits[i], (width, height), interpolation=cv2.INTER_LINEAR)
    return out


def stability_pick(
    masks: np.ndarray, scores: np.ndarray, multimask: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Meta's SAM 2 selection from all four ``(B, 4, h, w)`` logits and ``(B, 4)`` scores.

    Numpy twin of :func:`samlabel.sam.sam2_decoder.select_sam2_masks`, for backends that
    run the decoder graph without torch.
    """
    if multimask:
        return masks[:, 1:], scores[:, 1:]
    flat = masks[:, 0].reshape(masks.shape[0], -1)
    inner = (flat > 0.05).sum(-1).astype(np.float32)
    outer = (flat > -0.05).sum(-1).astype(np.float32)
    stability = np.where(outer > 0, inner / np.maximum(outer, 1), 1.0)
    chosen = np.where(stability >= 0.98, 0, np.argmax(scores[:, 1:], axis=-1) + 1)
    rows = np.arange(masks.shape[0])
    return masks[rows, chosen][:, None], scores[rows, chosen][:, None]


def sam2_prompt_arrays(
    points: Sequence[Point] | None, box: Box | None, original_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Prompt set as SAM 2's image predictor builds it: ``(coords (1, N, 2), labels (1, N))``
    float32 in the stretched 1024 frame.

    Order: the box corners (labels 2, 3) first, then the clicks, then one padding point
    (label -1 at (0, 0)), which SAM 2 appends whenever there is a point or a box (SAM 1 only
    without a box). With neither, ``N`` is 0.

    Raises:
        ValueError: a label other than 0 / 1, or a coordinate that is not finite.
    """
    clicks, click_labels = build_prompt_arrays(points, None, original_size, STRETCHED_SIZE)
    if box is None:
        return clicks, click_labels
    corners, corner_labels = build_prompt_arrays(None, box, original_size, STRETCHED_SIZE)
    if not points:  # the clicks part is empty: add the padding point ourselves
        clicks = np.zeros((1, 1, 2), np.float32)
        click_labels = np.full((1, 1), -1.0, np.float32)
    return (
        np.concatenate([corners, clicks], axis=1),
        np.concatenate([corner_labels, click_labels], axis=1),
    )
