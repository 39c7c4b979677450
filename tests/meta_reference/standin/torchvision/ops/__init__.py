from torchvision.ops.boxes import batched_nms, box_area, nms

__all__ = ["batched_nms", "box_area", "nms"]
