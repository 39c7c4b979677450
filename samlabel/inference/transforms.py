"""Image and prompt preprocessing exactly as Meta's ``SamPredictor`` does it (numpy only).

The image's long side is resized to 1024 with PIL bilinear (which antialiases when it
shrinks), normalised by SAM's pixel mean/std and zero-padded at the bottom and right to
1024x1024. Prompts in original image pixels (x right, y down) are scaled per axis into that
1024 frame. Sizes are ``(height, width)``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from samlabel.inference.api import IMAGE_SIZE

PIXEL_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
PIXEL_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def resized_size(original_hw: tuple[int, int], long_side: int = IMAGE_SIZE) -> tuple[int, int]:
    """``(h, w)`` after scaling ``original_hw`` so its longer side is ``long_side``.

    Rounds as the reference does: ``int(side * scale + 0.5)``.
    """
    old_h, old_w = original_hw
    scale = long_side * 1.0 / max(old_h, old_w)
    return int(old_h * scale + 0.5), int(old_w * scale + 0.5)


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Any supported image array -> ``(H, W, 3)`` uint8 RGB.

    Accepts ``(H, W)``, ``(H, W, 1)`` (gray, replicated to 3 channels), ``(H, W, 3)`` (RGB)
    and ``(H, W, 4)`` (RGBA; alpha dropped), uint8 or uint16. uint16 is mapped linearly from
    its full range 0..65535 to 0..255 (``round(v / 257)``); contrast windowing, if wanted, is
    the image reader's job.

    Raises:
        ValueError: for other shapes or dtypes.
    """
    arr = np.asarray(image)
    if arr.dtype == np.uint16:
        arr = np.round(arr.astype(np.float32) / 257.0).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise ValueError(f"image dtype must be uint8 or uint16, not {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"image must be HxW, HxWx1, HxWx3 or HxWx4, not {arr.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


def preprocess(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Image -> model input.

    Args:
        image: anything :func:`to_rgb_uint8` accepts.

    Returns:
        ``(tensor, input_size)``: ``tensor`` is ``(1, 3, 1024, 1024)`` float32 (resized,
        normalised, zero-padded bottom/right); ``input_size`` is ``(h, w)`` of the resized
        image inside the 1024 frame.
    """
    rgb = to_rgb_uint8(image)
    h, w = resized_size(rgb.shape[:2])
    if min(h, w) < 1:  # the file readers refuse these first, naming the file
        raise ValueError(
            f"a {rgb.shape[1]} x {rgb.shape[0]} image is too elongated for SAM: scaled to "
            f"{IMAGE_SIZE} px on its long side, its short side would be 0 px"
        )
    resized = np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))
    normalised = (resized.astype(np.float32) - PIXEL_MEAN) / PIXEL_STD
    tensor = np.zeros((1, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    tensor[0, :, :h, :w] = normalised.transpose(2, 0, 1)
    return tensor, (h, w)


def transform_coords(
    points_xy: np.ndarray, original_hw: tuple[int, int], input_hw: tuple[int, int] | None = None
) -> np.ndarray:
    """``(N, 2)`` pixel ``(x, y)`` in the original image -> ``(N, 2)`` float32 in the 1024 frame.

    Scales x by ``w_in / W`` and y by ``h_in / H`` (``ResizeLongestSide.apply_coords``).
    ``input_hw`` defaults to :func:`resized_size` of ``original_hw``.
    """
    old_h, old_w = original_hw
    new_h, new_w = input_hw if input_hw is not None else resized_size(original_hw)
    coords = np.array(points_xy, dtype=np.float64).reshape(-1, 2)
    coords[:, 0] *= new_w / old_w
    coords[:, 1] *= new_h / old_h
    return coords.astype(np.float32)


def transform_box(
    box_xyxy: np.ndarray, original_hw: tuple[int, int], input_hw: tuple[int, int] | None = None
) -> np.ndarray:
    """``(4,)`` XYXY box (or ``(K, 4)`` boxes) in original pixels -> same shape, 1024 frame."""
    box = np.asarray(box_xyxy, dtype=np.float64)
    out = transform_coords(box.reshape(-1, 2), original_hw, input_hw)
    return out.reshape(box.shape)
