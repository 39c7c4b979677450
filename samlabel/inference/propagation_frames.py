"""Frames of a stack as SAM 2's memory model sees them: preprocessing and per-frame features.

Preprocessing is Meta's video predictor's (``sam2.utils.misc.load_video_frames`` for a
folder of frames, the default synchronous load): the 8-bit RGB frame resized to 1024x1024
by PIL's default filter for ``Image.resize`` (bicubic), scaled to 0..1 in float64, stored
as float32, then ImageNet mean/std in float32. This differs from the single-image path
(:func:`samlabel.inference.sam2_transforms.preprocess_sam2`, antialiased bilinear of the
float image), so a frame's features are computed here rather than taken from an image
embedding; :func:`features_from_embedding` still accepts one when a caller prefers reuse
over exact agreement with Meta's video predictor. (Meta's loader of an ``.mp4`` file
resizes with decord instead; the folder-of-JPEG path is the one reproduced here, and the
one its documentation recommends.)

The encoder may be torch (the video model's own) or an exported graph
(:data:`RunEncoder`: ONNX Runtime, OpenVINO); the memory encoder and memory attention
always run in torch. With a :class:`~samlabel.inference.propagation_cache.FrameEmbeddingStore`
the embeddings go through the on-disk cache, so a frame is encoded once per model.

Features are kept in memory for a few recent frames only (a 1024 frame's three maps take
16 MB).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from samlabel.inference.api import IMAGE_SIZE, ImageEmbedding
from samlabel.inference.transforms import to_rgb_uint8
from samlabel.sam.sam2_video import Sam2VideoModel

if TYPE_CHECKING:
    from samlabel.inference.propagation_cache import FrameEmbeddingStore

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
    ``no_mem_embed``, which the memory model adds itself, so it is taken off here. The
    tensors go to the model's device."""
    if len(embedding.high_res_features) != 2:
        raise ValueError("this embedding was made by a SAM 1 model; encode the frame with SAM 2.")
    no_mem = model.no_mem_embed.detach().reshape(1, -1, 1, 1)
    device = no_mem.device

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, np.float32)).to(device)

    s0, s1 = (tensor(a) for a in embedding.high_res_features)
    return FrameFeatures(tensor(embedding.features) - no_mem, s0, s1)


#: A replacement for the torch image encoder: the ``(1, 3, 1024, 1024)`` float32 frame of
#: :func:`preprocess_video_frame` -> ``[embedding (1, 256, 64, 64) with no_mem_embed,
#: high_res_s0, high_res_s1]`` (for example an exported graph in ONNX Runtime or OpenVINO).
RunEncoder = Callable[[np.ndarray], Sequence[np.ndarray]]


class FrameFeatureSource:
    """Per-frame features, computed on demand and kept for the ``keep`` most recent frames.

    Args:
        model: the video model (its image encoder makes the features unless ``run_encoder``
            or ``encode`` is given).
        read_frame: frame index -> ``(H, W[, C])`` array (a stack reader; frames are read
            lazily, one at a time).
        num_frames: frames in the stack.
        frame_size: ``(H, W)`` of every frame.
        encode: optional replacement for the whole computation: frame index ->
            :class:`FrameFeatures` (tests reuse features this way).
        keep: frames whose features stay in memory.
        run_encoder: optional replacement for the torch image encoder (:data:`RunEncoder`);
            the frame is still read and preprocessed here.
        store: optional on-disk cache of frame embeddings
            (:class:`~samlabel.inference.propagation_cache.FrameEmbeddingStore`): a frame
            found there is not encoded again, one encoded is stored.

    Counters (tests and figures): ``encoded`` encoder runs (or ``encode`` calls),
    ``from_cache`` frames read back from ``store``.
    """

    def __init__(
        self,
        model: Sam2VideoModel,
        read_frame: Callable[[int], np.ndarray] | None,
        num_frames: int,
        frame_size: tuple[int, int],
        encode: Callable[[int], FrameFeatures] | None = None,
        keep: int = 2,
        run_encoder: RunEncoder | None = None,
        store: FrameEmbeddingStore | None = None,
    ) -> None:
        if num_frames < 1:
            raise ValueError("the stack has no frames.")
        self.model = model
        self.read_frame = read_frame
        self.num_frames = num_frames
        self.frame_size = (int(frame_size[0]), int(frame_size[1]))
        self._encode = encode
        self._run_encoder = run_encoder
        self.store = store
        self._keep = max(1, keep)
        self._cache: OrderedDict[int, FrameFeatures] = OrderedDict()
        self.encoded = 0
        self.from_cache = 0

    def __call__(self, index: int) -> FrameFeatures:
        if not 0 <= index < self.num_frames:
            raise ValueError(f"frame {index} is outside the stack (0..{self.num_frames - 1}).")
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit
        features = self._compute(index)
        self._cache[index] = features
        while len(self._cache) > self._keep:
            self._cache.popitem(last=False)
        return features

    def _compute(self, index: int) -> FrameFeatures:
        if self._encode is not None:
            self.encoded += 1
            return self._encode(index)
        if self._run_encoder is None and self.store is None:
            self.encoded += 1
            return self._torch_features(index)
        embedding = self.store.get(index, self.frame_size) if self.store is not None else None
        if embedding is not None:
            self.from_cache += 1
        else:
            embedding = self.encode_embedding(index)
            self.encoded += 1
            if self.store is not None:
                self.store.put(index, embedding)
        # Always through the stored form, so a fresh frame and a cached one give the same.
        return features_from_embedding(embedding, self.model)

    def encode_embedding(self, index: int) -> ImageEmbedding:
        """Frame ``index`` read, preprocessed and encoded, as a stretched SAM 2 embedding
        (the form the disk cache stores)."""
        if self.read_frame is None:
            raise ValueError("this frame source has no frame reader.")
        tensor = preprocess_video_frame(self.read_frame(index))
        if self._run_encoder is not None:
            outputs = list(self._run_encoder(tensor))
        else:
            device = self.model.no_mem_embed.device
            with torch.inference_mode():
                encoded = self.model.encode_image(torch.from_numpy(tensor).to(device))
            outputs = [t.float().cpu().numpy() for t in encoded]
        features, s0, s1 = (np.ascontiguousarray(a, dtype=np.float32) for a in outputs)
        return ImageEmbedding(
            features=features,
            original_size=self.frame_size,
            input_size=(IMAGE_SIZE, IMAGE_SIZE),
            high_res_features=(s0, s1),
            stretched=True,
        )

    def _torch_features(self, index: int) -> FrameFeatures:
        device = self.model.no_mem_embed.device
        tensor = torch.from_numpy(preprocess_video_frame(self.read_frame(index))).to(device)
        with torch.inference_mode():
            feat, s0, s1 = self.model.frame_features(tensor)
        return FrameFeatures(feat, s0, s1)
