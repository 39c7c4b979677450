"""Box helpers with torchvision's semantics: boxes are ``(N, 4)`` XYXY, areas without +1."""

from __future__ import annotations

import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """``(N,)`` areas of ``(N, 4)`` XYXY boxes."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _pairwise_iou(box: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    x0 = torch.maximum(box[0], others[:, 0])
    y0 = torch.maximum(box[1], others[:, 1])
    x1 = torch.minimum(box[2], others[:, 2])
    y1 = torch.minimum(box[3], others[:, 3])
    inter = (x1 - x0).clamp(min=0) * (y1 - y0).clamp(min=0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    return inter / (area + box_area(others) - inter)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy NMS: indices kept, highest score first; a box goes when IoU > threshold.

    Ties keep the earlier box first (torchvision's CPU kernel sorts stably, descending).
    """
    order = torch.sort(scores, descending=True, stable=True).indices
    boxes = boxes.to(torch.float64)
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for rank, index in enumerate(order.tolist()):
        if suppressed[rank]:
            continue
        keep.append(index)
        rest = order[rank + 1 :]
        if len(rest):
            suppressed[rank + 1 :] |= _pairwise_iou(boxes[index], boxes[rest]) > iou_threshold
    return torch.tensor(keep, dtype=torch.int64)


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """NMS within each category ``idxs`` independently (boxes of different ids never overlap)."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64)
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)
