"""Segment everything: SAM's automatic mask generator on top of any :class:`Predictor`.

Same parameters, defaults and results as Meta's ``SamAutomaticMaskGenerator``: a grid of
single-point prompts (on the whole image and, with ``crop_n_layers``, on overlapping crops),
three candidates per point, kept when the predicted IoU is above ``pred_iou_thresh`` and the
stability score at least ``stability_score_thresh``, masks cut by a crop edge dropped,
duplicates removed by box NMS within a crop and across crops (smaller crops preferred), then
optionally small islands and holes removed (``min_mask_region_area``).

Faster than the reference on a CPU because the expensive steps run only where needed:

- each crop is encoded once and the decoder's image-side work is done once per crop;
- points go to the decoder in batches of ``points_per_batch`` in one call
  (:meth:`Predictor.decode_batch`);
- the predicted-IoU filter and a conservative stability pre-filter run on the 256x256
  low-resolution logits; only the candidates that pass are upsampled to the image size, where
  stability, boxes and NMS are computed exactly as the reference computes them, so the masks
  kept are the same;
- masks go straight to COCO RLE.

Coordinates: images ``HxW`` or ``HxWxC``; points ``(x, y)`` in image pixels; boxes XYXY;
``bbox`` and ``crop_box`` in the output are COCO XYWH (``bbox`` from inclusive pixel indices,
as the reference computes it); RLE in COCO's column-major order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from samlabel.core.masks import Rle, counts_from_string, encode_mask
from samlabel.inference.api import LOW_RES_SIZE, ImageEmbedding, Predictor
from samlabel.inference.automatic_filter import (
    box_nms,
    mask_boxes,
    near_crop_edge,
    remove_small_regions,
    stability_score,
)
from samlabel.inference.automatic_grid import build_all_layer_point_grids, generate_crop_boxes
from samlabel.inference.postprocess import upsample_logits

#: How far below ``stability_score_thresh`` a candidate's stability on the low-resolution
#: logits may be and still be upsampled for the exact check. Measured on region-shaped masks,
#: the two differ by a few hundredths (tests/inference/test_automatic.py checks the bound).
LOW_RES_STABILITY_SLACK = 0.1
#: Candidates upsampled to the image size at once (bounds memory: 16 x H x W float32).
UPSAMPLE_CHUNK = 16
OUTPUT_MODES = ("binary_mask", "uncompressed_rle", "coco_rle")

Box = tuple[int, int, int, int]
#: ``encode(crop_image, crop_box)`` -> embedding; lets a caller use an embedding cache.
EncodeFunction = Callable[[np.ndarray, Box], ImageEmbedding]
#: ``progress(done, total)`` in point batches; may raise to cancel.
ProgressFunction = Callable[[int, int], None]


@dataclass
class GeneratedMask:
    """One mask of segment everything, in full-image coordinates.

    Attributes:
        rle: the mask, COCO compressed RLE of the whole image.
        box: XYXY inclusive pixel indices.
        predicted_iou: the decoder's own quality estimate.
        stability_score: IoU of the mask cut at +/- ``stability_score_offset``.
        point: ``(x, y)`` of the prompt that made it, in image pixels.
        crop_box: XYXY (end-exclusive) of the crop it was found in.
    """

    rle: Rle
    box: np.ndarray
    predicted_iou: float
    stability_score: float
    point: tuple[float, float]
    crop_box: Box

    def record(self, output_mode: str = "coco_rle") -> dict[str, Any]:
        """The dict Meta's ``generate()`` returns for this mask."""
        if output_mode == "coco_rle":
            segmentation: Any = self.rle.to_coco()
        elif output_mode == "uncompressed_rle":
            segmentation = {
                "size": list(self.rle.size),
                "counts": counts_from_string(self.rle.counts),
            }
        else:
            segmentation = np.ascontiguousarray(self.rle.decode())
        x0, y0, x1, y1 = (float(v) for v in self.box)
        cx0, cy0, cx1, cy1 = self.crop_box
        return {
            "segmentation": segmentation,
            "area": self.rle.area,
            "bbox": [x0, y0, x1 - x0, y1 - y0],
            "predicted_iou": float(self.predicted_iou),
            "point_coords": [[float(self.point[0]), float(self.point[1])]],
            "stability_score": float(self.stability_score),
            "crop_box": [cx0, cy0, cx1 - cx0, cy1 - cy0],
        }


@dataclass
class _Candidates:
    """Masks kept so far: parallel lists, in full-image coordinates once uncropped."""

    rles: list[Rle] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    ious: list[float] = field(default_factory=list)
    stabilities: list[float] = field(default_factory=list)
    points: list[tuple[float, float]] = field(default_factory=list)
    crops: list[Box] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rles)

    def extend(self, other: _Candidates) -> None:
        for name in ("rles", "boxes", "ious", "stabilities", "points", "crops"):
            getattr(self, name).extend(getattr(other, name))

    def select(self, keep: np.ndarray) -> _Candidates:
        picked = _Candidates()
        for name in ("rles", "boxes", "ious", "stabilities", "points", "crops"):
            values = getattr(self, name)
            setattr(picked, name, [values[int(i)] for i in keep])
        return picked

    def box_array(self) -> np.ndarray:
        return np.asarray(self.boxes, np.float64).reshape(-1, 4)


class AutomaticMaskGenerator:
    """Meta's ``SamAutomaticMaskGenerator`` on a :class:`Predictor` (any backend).

    Parameters have the reference's names, meanings and defaults; ``output_mode`` chooses what
    :meth:`generate` puts in ``segmentation`` (``"binary_mask"``: ``(H, W)`` bool;
    ``"coco_rle"``: ``{"size", "counts"}`` with a counts string; ``"uncompressed_rle"``).
    """

    def __init__(
        self,
        predictor: Predictor,
        points_per_side: int | None = 32,
        points_per_batch: int = 64,
        pred_iou_thresh: float = 0.88,
        stability_score_thresh: float = 0.95,
        stability_score_offset: float = 1.0,
        box_nms_thresh: float = 0.7,
        crop_n_layers: int = 0,
        crop_nms_thresh: float = 0.7,
        crop_overlap_ratio: float = 512 / 1500,
        crop_n_points_downscale_factor: int = 1,
        point_grids: list[np.ndarray] | None = None,
        min_mask_region_area: int = 0,
        output_mode: str = "binary_mask",
    ) -> None:
        if (points_per_side is None) == (point_grids is None):
            raise ValueError("give exactly one of points_per_side and point_grids")
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"output_mode must be one of {', '.join(OUTPUT_MODES)}")
        if points_per_batch < 1 or crop_n_layers < 0:
            raise ValueError("points_per_batch must be >= 1 and crop_n_layers >= 0")
        if points_per_side is not None:
            self.point_grids = build_all_layer_point_grids(
                points_per_side, crop_n_layers, crop_n_points_downscale_factor
            )
        else:
            self.point_grids = [np.asarray(g, np.float64).reshape(-1, 2) for g in point_grids]
        if len(self.point_grids) < crop_n_layers + 1:
            raise ValueError("point_grids needs one grid per crop layer (crop_n_layers + 1)")
        self.predictor = predictor
        self.points_per_batch = points_per_batch
        self.pred_iou_thresh = pred_iou_thresh
        self.stability_score_thresh = stability_score_thresh
        self.stability_score_offset = stability_score_offset
        self.box_nms_thresh = box_nms_thresh
        self.crop_n_layers = crop_n_layers
        self.crop_nms_thresh = crop_nms_thresh
        self.crop_overlap_ratio = crop_overlap_ratio
        self.crop_n_points_downscale_factor = crop_n_points_downscale_factor
        self.min_mask_region_area = min_mask_region_area
        self.output_mode = output_mode

    def generate(
        self,
        image: np.ndarray,
        encode: EncodeFunction | None = None,
        progress: ProgressFunction | None = None,
    ) -> list[dict[str, Any]]:
        """Masks of everything in ``image`` (``HxW[xC]``), as Meta's ``generate()`` returns.

        Each record: ``segmentation``, ``area``, ``bbox`` (XYWH), ``predicted_iou``,
        ``point_coords`` (``[[x, y]]``), ``stability_score``, ``crop_box`` (XYWH).
        """
        masks = self.generate_masks(image, encode, progress)
        return [mask.record(self.output_mode) for mask in masks]

    def generate_masks(
        self,
        image: np.ndarray,
        encode: EncodeFunction | None = None,
        progress: ProgressFunction | None = None,
    ) -> list[GeneratedMask]:
        """As :meth:`generate`, as :class:`GeneratedMask` values (RLE, no dicts)."""
        height, width = int(image.shape[0]), int(image.shape[1])
        crop_boxes, layers = generate_crop_boxes(
            (height, width), self.crop_n_layers, self.crop_overlap_ratio
        )
        total = sum(-(-len(self.point_grids[layer]) // self.points_per_batch) for layer in layers)
        counter = [0, total]
        found = _Candidates()
        for crop_box, layer in zip(crop_boxes, layers, strict=True):
            found.extend(self._process_crop(image, crop_box, layer, encode, progress, counter))
        if len(crop_boxes) > 1 and len(found):
            # Prefer masks from smaller crops.
            areas = np.array([(c[2] - c[0]) * (c[3] - c[1]) for c in found.crops], np.float64)
            found = found.select(box_nms(found.box_array(), 1.0 / areas, self.crop_nms_thresh))
        if self.min_mask_region_area > 0 and len(found):
            found = self._remove_small_regions(found)
        return [
            GeneratedMask(r, b, i, s, p, c)
            for r, b, i, s, p, c in zip(
                found.rles,
                found.boxes,
                found.ious,
                found.stabilities,
                found.points,
                found.crops,
                strict=True,
            )
        ]

    def _process_crop(self, image, crop_box, layer, encode, progress, counter) -> _Candidates:
        x0, y0, x1, y1 = crop_box
        crop = image[y0:y1, x0:x1]
        embedding = encode(crop, crop_box) if encode else self.predictor.encode(crop)
        crop_h, crop_w = y1 - y0, x1 - x0
        points = self.point_grids[layer] * np.array([[crop_w, crop_h]], np.float64)
        found = _Candidates()
        for start in range(0, len(points), self.points_per_batch):
            batch = points[start : start + self.points_per_batch]
            found.extend(self._process_batch(embedding, batch, crop_box, image.shape[:2]))
            counter[0] += 1
            if progress is not None:
                progress(counter[0], counter[1])
        if not len(found):
            return found
        keep = box_nms(found.box_array(), np.asarray(found.ious), self.box_nms_thresh)
        found = found.select(keep)
        # Back to the image frame.
        offset = np.array([x0, y0, x0, y0], np.int64)
        found.boxes = [box + offset for box in found.boxes]
        found.points = [(px + x0, py + y0) for px, py in found.points]
        return found

    def _process_batch(
        self,
        embedding: ImageEmbedding,
        points: np.ndarray,
        crop_box: Box,
        image_size: tuple[int, int],
    ) -> _Candidates:
        prompts = np.concatenate([points, np.ones((len(points), 1))], axis=1)[:, None, :]
        logits, scores = self.predictor.decode_batch(embedding, prompts)
        logits = logits.reshape(-1, LOW_RES_SIZE, LOW_RES_SIZE)
        ious = scores.reshape(-1)
        owners = np.repeat(np.arange(len(points)), scores.shape[1])
        keep = np.ones(len(ious), bool)
        if self.pred_iou_thresh > 0.0:
            keep &= ious > self.pred_iou_thresh
        if self.stability_score_thresh > 0.0 and keep.any():
            # Cheap pre-filter on the low-resolution logits of the image area; the exact
            # score is computed below, after upsampling, for what passes.
            in_h, in_w = embedding.input_size
            rows = -(-in_h * LOW_RES_SIZE // 1024)
            cols = -(-in_w * LOW_RES_SIZE // 1024)
            index = np.flatnonzero(keep)
            low = stability_score(logits[index, :rows, :cols], 0.0, self.stability_score_offset)
            keep[index[~(low >= self.stability_score_thresh - LOW_RES_STABILITY_SLACK)]] = False
        found = _Candidates()
        index = np.flatnonzero(keep)
        for start in range(0, len(index), UPSAMPLE_CHUNK):
            chunk = index[start : start + UPSAMPLE_CHUNK]
            full = upsample_logits(logits[chunk], embedding.input_size, embedding.original_size)
            stability = stability_score(full, 0.0, self.stability_score_offset)
            passed = np.ones(len(chunk), bool)
            if self.stability_score_thresh > 0.0:
                passed = stability >= self.stability_score_thresh
            masks = full[passed] > 0.0
            del full
            boxes = mask_boxes(masks)
            height, width = image_size
            inside = ~near_crop_edge(boxes, crop_box, (0, 0, width, height))
            for mask, box, i, stab in zip(
                masks[inside],
                boxes[inside],
                chunk[passed][inside],
                stability[passed][inside],
                strict=True,
            ):
                found.rles.append(_encode_in_image(mask, crop_box, image_size))
                found.boxes.append(box)
                found.ious.append(float(ious[i]))
                found.stabilities.append(float(stab))
                point = points[owners[i]]
                found.points.append((float(point[0]), float(point[1])))
                found.crops.append(tuple(int(v) for v in crop_box))
        return found

    def _remove_small_regions(self, found: _Candidates) -> _Candidates:
        """Fill small holes, drop small islands, then NMS again preferring untouched masks."""
        new_masks = []
        scores = []
        for rle in found.rles:
            mask = rle.decode()
            mask, filled = remove_small_regions(mask, self.min_mask_region_area, "holes")
            mask, dropped = remove_small_regions(mask, self.min_mask_region_area, "islands")
            new_masks.append(mask)
            scores.append(0.0 if (filled or dropped) else 1.0)
        boxes = np.concatenate([mask_boxes(m[None]) for m in new_masks])
        threshold = max(self.box_nms_thresh, self.crop_nms_thresh)
        keep = box_nms(boxes, np.asarray(scores), threshold)
        for i in keep:
            if scores[i] == 0.0:
                found.rles[i] = encode_mask(np.asfortranarray(new_masks[i]))
                found.boxes[i] = boxes[i]
        return found.select(keep)


def _encode_in_image(mask: np.ndarray, crop_box: Box, image_size: tuple[int, int]) -> Rle:
    """RLE of a crop's ``(h, w)`` mask placed in the ``(H, W)`` image."""
    height, width = image_size
    x0, y0, x1, y1 = crop_box
    if (x0, y0, x1, y1) == (0, 0, width, height):
        return encode_mask(mask)
    full = np.zeros((height, width), bool, order="F")
    full[y0:y1, x0:x1] = mask
    return encode_mask(full)
