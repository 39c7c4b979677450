"""Meta's ``SAM2VideoPredictor`` with seeded random weights, generated frames, and the
propagation scenario both sides run (prompt on frame 0, propagate, correct frame 5,
propagate again from there).

The predictor is built as users build it (``build_sam2_video_predictor``, its default
post-processing) with one override: a frame that receives correction clicks becomes a
conditioning frame (``add_all_frames_to_correct_as_cond``), which is what our propagator
does (the issue asks for corrections that hold when propagating again from there).
Weights get the same seeded perturbation as the image tests (:mod:`tests.sam2.reference`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tests.meta_reference import sam2
from tests.sam2.reference import CONFIGS, write_checkpoint

NUM_FRAMES = 8
HEIGHT, WIDTH = 240, 320
#: The prompts, in frame pixels (x right, y down).
FIRST_CLICK = (0, (100.0, 130.0, 1))
CORRECTION_FRAME = 5


#: A lighter memory for the everyday test (same code paths, read from the weights on our
#: side): 3 memory frames instead of 7 and 1 memory-attention layer instead of 4. The full
#: SAM 2.1 memory costs ~35 s per tracked frame per side on a loaded 2-core machine.
LIGHT_MEMORY = ("++model.num_maskmem=3", "++model.memory_attention.num_layers=1")
#: Object-score bias set by hand: with random weights the head judges the object absent on
#: every frame, and every mask would be empty on both sides (a comparison that cannot fail).
OBJECT_SCORE_BIAS = 6.0


def build_video_reference(size: str, seed: int = 0, light: bool = True):
    """Meta's video predictor of ``size`` with seeded, perturbed random weights (eval)."""
    sam2()
    from sam2.build_sam import build_sam2_video_predictor

    torch.manual_seed(seed)
    overrides = ["++model.add_all_frames_to_correct_as_cond=true"]
    if light:
        overrides += list(LIGHT_MEMORY)
    predictor = build_sam2_video_predictor(
        CONFIGS[size], ckpt_path=None, device="cpu", hydra_overrides_extra=overrides
    )
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for tensor in predictor.state_dict().values():
            if tensor.is_floating_point():
                scale = 0.02 if tensor.abs().max() > 0 else 0.1
                tensor.add_(torch.randn(tensor.shape, generator=generator) * scale)
        predictor.sam_mask_decoder.pred_obj_score_head.layers[2].bias.add_(OBJECT_SCORE_BIAS)
    return predictor


def light_video_model():
    """Our SAM 2.1 tiny video model with seeded random weights, the light memory (3 frames,
    one attention layer) and the object-score bias set by hand (eval mode)."""
    from samlabel.sam.sam2_model import HIERA_CONFIGS, Sam2Config
    from samlabel.sam.sam2_video import VideoConfig, build_sam2_video

    torch.manual_seed(0)
    model = build_sam2_video(
        Sam2Config("tiny", HIERA_CONFIGS["tiny"]), VideoConfig(num_maskmem=3, attention_layers=1)
    ).eval()
    with torch.no_grad():
        model.sam_mask_decoder.pred_obj_score_head.layers[2].bias.add_(OBJECT_SCORE_BIAS)
    return model


def disc_centre(index: int) -> tuple[float, float]:
    """Where the moving disc is on frame ``index`` (it drifts right and down)."""
    return 100.0 + 14.0 * index, 130.0 + 4.0 * index


def make_frames(num_frames: int = NUM_FRAMES, seed: int = 5) -> list[np.ndarray]:
    """RGB uint8 frames: a textured background and a bright disc moving across it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    background = 90 + 40 * np.sin(xx / 29.0) * np.cos(yy / 17.0)
    frames = []
    for i in range(num_frames):
        cx, cy = disc_centre(i)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < 38.0**2
        base = background + 110 * disc
        rgb = np.stack([base, base * 0.7 + 40 * disc, 200 - 0.5 * base], axis=-1)
        rgb = rgb + rng.normal(0, 4, rgb.shape)
        frames.append(np.clip(rgb, 0, 255).astype(np.uint8))
    return frames


def write_jpeg_frames(frames: list[np.ndarray], folder: Path) -> list[np.ndarray]:
    """Save as ``00000.jpg``... (Meta's folder format); returns the frames as decoded back,
    which both sides then see."""
    folder.mkdir(parents=True, exist_ok=True)
    decoded = []
    for i, frame in enumerate(frames):
        path = folder / f"{i:05d}.jpg"
        Image.fromarray(frame).save(path, quality=95)
        decoded.append(np.asarray(Image.open(path).convert("RGB")))
    return decoded


def correction_click() -> tuple[float, float, int]:
    """An include click on the disc's far edge on the correction frame."""
    cx, cy = disc_centre(CORRECTION_FRAME)
    return (cx + 30.0, cy, 1)


@dataclass
class VideoRun:
    """Meta's results: logits ``(H, W)`` per frame for each step of the scenario."""

    first: np.ndarray | None = None
    pass1: dict[int, np.ndarray] = field(default_factory=dict)
    correction: np.ndarray | None = None
    pass2: dict[int, np.ndarray] = field(default_factory=dict)


def run_meta(predictor, folder: Path) -> VideoRun:
    """The scenario on Meta's predictor (frames read from ``folder``)."""
    run = VideoRun()
    with torch.inference_mode():
        state = predictor.init_state(str(folder))
        frame, (x, y, label) = FIRST_CLICK
        _, _, masks = predictor.add_new_points_or_box(
            state, frame, 1, points=[[x, y]], labels=[label]
        )
        run.first = masks[0, 0].numpy().copy()
        for index, _, masks in predictor.propagate_in_video(state):
            run.pass1[index] = masks[0, 0].numpy().copy()
        x, y, label = correction_click()
        _, _, masks = predictor.add_new_points_or_box(
            state, CORRECTION_FRAME, 1, points=[[x, y]], labels=[label]
        )
        run.correction = masks[0, 0].numpy().copy()
        for index, _, masks in predictor.propagate_in_video(state, CORRECTION_FRAME):
            run.pass2[index] = masks[0, 0].numpy().copy()
    return run


def save_checkpoint(predictor, path: Path) -> Path:
    """Meta's file layout (``{"model": state_dict}``), video modules included."""
    return write_checkpoint(predictor, path)
