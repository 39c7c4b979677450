"""Frames of a stack as SAM 2's memory model sees them: preprocessing and per-frame features.

Preprocessing is Meta's video predictor's (``sam2.utils.misc.load_video_frames`` for a
folder of frames, the default synchronous load): the 8-bit RGB frame resized to 1024x1024
by PIL's default filter for ``Image.resize`` (bicubic), scaled to 0..1 in float64, stored
as float32, then ImageNet mean/std in float32. This differs from the single-image path
(:func:`samlabel.inference.sam2_transforms.preprocess_sam2`, antialiased bilinear of the
float image), so a frame's features are computed here rather than taken from an image
embedding; :func:`features_from_embedding` still accepts one (for example from the disk
cache) when a caller prefers reuse over exact agreement with Meta's video predictor.

Features are kept for a few recent frames only (a 1024 frame's three maps take 16 MB).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from samlabel.inference.api import IMAGE_SIZE, ImageEmbedding
from samlabel.inference.transforms import to_rgb_uint8
from samlabel.sam.sam2_video import Sam2VideoModel

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)[:, None, None]
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)[:, None, None]


@dataclass(frozen=True)
class FrameFeatures:
    """One frame's encoder output as the memory model uses it.

    Attributes:
        feat: ``(1, 256, 64, 64)`` float32 embedding *without* ``no_mem_embed``.
        s0, s1: ``(1, 32, 256, 256)``, ``(1, 64, 128, 128)`` projected high-res maps.
    """

    feat: torch.Tensor
    s0: torch.Tensor
    s1: torch.Tensor

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.feat, self.s0, self.s1))


def preprocess_video_frame(frame: np.ndarray) -> np.ndarray:
    """``(H, W[, C])`` uint8/uint16 frame -> ``(1, 3, 1024, 1024)`` float32, as Meta's video
    predictor loads a JPEG frame (see the module docstring)."""
    rgb = Image.fromarray(to_rgb_uint8(frame))
    resized = np.asarray(rgb.resize((IMAGE_SIZE, IMAGE_SIZE)))
    tensor = (resized / 255.0).astype(np.float32).transpose(2, 0, 1)
    tensor = (tensor - MEAN) / STD
    return np.ascontiguousarray(tensor[None], dtype=np.float32)


def features_from_embedding(embedding: ImageEmbedding, model: Sam2VideoModel) -> FrameFeatures:
    """Reuse a SAM 2 :class:`ImageEmbedding` (any backend): its features carry
    ``no_mem_embed``, which the memory model adds itself, so it is taken off here."""
    if len(embedding.high_res_features) != 2:
        raise ValueError("this embedding was made by a SAM 1 model; encode the frame with SAM 2.")
    no_mem = model.no_mem_embed.detach().reshape(1, -1, 1, 1).cpu()
    feat = torch.from_numpy(np.ascontiguousarray(embedding.features, np.float32)) - no_mem
    s0, s1 = (
        torch.from_numpy(np.ascontiguousarray(a, np.float32)) for a in embedding.high_res_features
    )
    return FrameFeatures(feat, s0, s1)


class FrameFeatureSource:
    """Per-frame features, computed on demand and kept for the ``keep`` most recent frames.

    Args:
        model: the video model (its image encoder makes the features).
        read_frame: frame index -> ``(H, W[, C])`` array (a stack reader; frames are read
            lazily, one at a time).
        num_frames: frames in the stack.
        frame_size: ``(H, W)`` of every frame.
        encode: optional replacement for the torch encoder (for example another backend
            or the embedding cache): frame index -> :class:`FrameFeatures`.
    """

    def __init__(
        self,
        model: Sam2VideoModel,
        read_frame: Callable[[int], np.ndarray],
        num_frames: int,
        frame_size: tuple[int, int],
        encode: Callable[[int], FrameFeatures] | None = None,
        keep: int = 2,
    ) -> None:
        if num_frames < 1:
            raise ValueError("the stack has no frames.")
        self.model = model
        self.read_frame = read_frame
        self.num_frames = num_frames
        self.frame_size = frame_size
        self._encode = encode
        self._keep = max(1, keep)
        self._cache: OrderedDict[int, FrameFeatures] = OrderedDict()
        self.encoded = 0  # how many encodes ran (tests and figures)

    def __call__(self, index: int) -> FrameFeatures:
        if not 0 <= index < self.num_frames:
            raise ValueError(f"frame {index} is outside the stack (0..{self.num_frames - 1}).")
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit
        features = self._encode(index) if self._encode else self._torch_features(index)
        self.encoded += 1
        self._cache[index] = features
        while len(self._cache) > self._keep:
            self._cache.popitem(last=False)
        return features

    def _torch_features(self, index: int) -> FrameFeatures:
        device = self.model.no_mem_embed.device
        tensor = torch.from_numpy(preprocess_video_frame(self.read_frame(index))).to(device)
        with torch.inference_mode():
            feat, s0, s1 = self.model.frame_features(tensor)
        return FrameFeatures(feat, s0, s1)
