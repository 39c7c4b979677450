"""Meta's SAM 2 image predictor with seeded random weights, and the cases both sides run.

The checkpoint is written as Meta's files are (``{"model": state_dict}`` with every module,
video ones included) so our loader reads exactly what a user downloads. Meta's default init
leaves many tensors at 0 or 1 (positional embeddings, norms, tokens); every tensor gets a
small seeded perturbation so that each weight changes the output and a wrong wiring shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tests.meta_reference import sam2

#: Meta's packaged config per size (hydra finds them inside the installed ``sam2`` package).
CONFIGS = {
    "tiny": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "small": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "base_plus": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "large": "configs/sam2.1/sam2.1_hiera_l.yaml",
}


def build_reference(size: str, seed: int = 0):
    """Meta's ``SAM2Base`` of ``size`` with seeded, perturbed random weights (eval mode)."""
    sam2()
    from sam2.build_sam import build_sam2

    torch.manual_seed(seed)
    model = build_sam2(CONFIGS[size], ckpt_path=None, device="cpu", mode="eval")
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                scale = 0.02 if tensor.abs().max() > 0 else 0.1
                tensor.add_(torch.randn(tensor.shape, generator=generator) * scale)
    return model


def write_checkpoint(model, path: Path) -> Path:
    """Save as Meta's official files are: ``{"model": state_dict}``."""
    torch.save({"model": model.state_dict()}, path)
    return path


def reference_predictor(model):
    """Meta's ``SAM2ImagePredictor`` around ``model`` (default thresholds, as users run it)."""
    sam2()
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    return SAM2ImagePredictor(model)


def make_image(height: int, width: int, gray: bool = False, seed: int = 3) -> np.ndarray:
    """A smooth image with shapes (random weights still see structure), uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 120 + 60 * np.sin(xx / 37.0) * np.cos(yy / 23.0)
    disc = ((xx - width * 0.4) ** 2 + (yy - height * 0.55) ** 2) < (min(height, width) * 0.2) ** 2
    base = base + 70 * disc
    if gray:
        return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    rgb = np.stack([base, base * 0.8 + 30 * np.cos(xx / 11.0), 255 - base], axis=-1)
    return np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Case:
    """One prompt set in original image pixels (x right, y down)."""

    name: str
    points: tuple[tuple[float, float, int], ...] = ()
    box: tuple[float, float, float, float] | None = None
    multimask: bool = True
    refine: bool = False  # feed the best low-res logits of the previous case back as mask_input


def cases(height: int, width: int) -> list[Case]:
    """Points, box, box + points and a mask-input refinement, scaled to the image."""
    w, h = float(width), float(height)
    return [
        Case("one_point", ((0.4 * w, 0.55 * h, 1),)),
        Case("pos_neg", ((0.4 * w, 0.55 * h, 1), (0.8 * w, 0.2 * h, 0))),
        Case("box", box=(0.2 * w, 0.3 * h, 0.65 * w, 0.8 * h)),
        Case(
            "box_points",
            ((0.45 * w, 0.5 * h, 1), (0.25 * w, 0.35 * h, 0)),
            (0.2 * w, 0.3 * h, 0.65 * w, 0.8 * h),
        ),
        Case(
            "refine", ((0.4 * w, 0.55 * h, 1), (0.5 * w, 0.6 * h, 1)), multimask=False, refine=True
        ),
    ]


def run_reference(predictor, image: np.ndarray, case_list: list[Case]) -> dict[str, tuple]:
    """Meta's ``(masks, scores, low_res_logits)`` per case; the image must already be set."""
    rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    predictor.set_image(rgb)
    out: dict[str, tuple] = {}
    previous = None
    for case in case_list:
        coords = np.array([p[:2] for p in case.points], dtype=np.float32) if case.points else None
        labels = np.array([p[2] for p in case.points], dtype=np.int32) if case.points else None
        mask_input = None
        if case.refine and previous is not None:
            mask_input = previous[2][int(np.argmax(previous[1]))][None]
        result = predictor.predict(
            point_coords=coords,
            point_labels=labels,
            box=None if case.box is None else np.array(case.box, dtype=np.float32),
            mask_input=mask_input,
            multimask_output=case.multimask,
        )
        out[case.name] = (result[0].astype(bool), result[1], result[2], mask_input)
        previous = result
    return out
