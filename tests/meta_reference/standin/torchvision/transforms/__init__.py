"""``Resize``, ``Normalize`` and ``ToTensor`` as Meta's sam2 uses them (scriptable modules)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class ToTensor:
    """HWC (or HW) uint8 image, PIL or ndarray → CHW float32 in [0, 1] (other dtypes unscaled)."""

    def __call__(self, picture) -> torch.Tensor:
        array = np.asarray(picture)
        if array.ndim == 2:
            array = array[:, :, None]
        tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
        if tensor.dtype == torch.uint8:
            return tensor.to(torch.get_default_dtype()).div(255)
        return tensor


class Resize(nn.Module):
    """Tensor resize to ``size`` = (h, w): bilinear, antialiased, align_corners=False."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = [int(size[0]), int(size[1])]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        batched = image.unsqueeze(0) if image.dim() == 3 else image
        out = torch.nn.functional.interpolate(
            batched, size=self.size, mode="bilinear", align_corners=False, antialias=True
        )
        return out.squeeze(0) if image.dim() == 3 else out


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel of a CHW or NCHW tensor."""

    def __init__(self, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, dtype=image.dtype, device=image.device).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=image.dtype, device=image.device).view(-1, 1, 1)
        return (image - mean) / std
