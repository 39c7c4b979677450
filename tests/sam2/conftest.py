"""Shared SAM 2 fixtures: Meta's model with seeded random weights, its checkpoint as Meta
writes them, and Meta's outputs for every case on a non-square RGB and a grayscale image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.sam2.reference import (
    Case,
    build_reference,
    cases,
    make_image,
    reference_predictor,
    run_reference,
    write_checkpoint,
)

#: Image name -> (height, width, gray). Non-square on purpose: SAM 2 stretches per axis.
IMAGES = {"rgb_wide": (300, 420, False), "gray_tall": (260, 200, True)}


@dataclass
class Sam2Reference:
    """Meta's model, our checkpoint file of it, and Meta's results per image and case."""

    size: str
    model: object
    checkpoint: Path
    images: dict[str, np.ndarray]
    cases: dict[str, list[Case]]
    results: dict[str, dict[str, tuple]]
    features: dict[str, tuple[np.ndarray, ...]]


def make_reference(
    size: str, folder: Path, image_names: list[str], built: tuple | None = None
) -> Sam2Reference:
    """Meta's outputs for ``image_names``; ``built``: an already built ``(model, checkpoint)``."""
    if built is None:
        model = build_reference(size)
        checkpoint = write_checkpoint(model, folder / f"sam2.1_hiera_{size}_random.pt")
    else:
        model, checkpoint = built
    predictor = reference_predictor(model)
    images, all_cases, results, features = {}, {}, {}, {}
    with torch.inference_mode():
        for name in image_names:
            h, w, gray = IMAGES[name]
            image = make_image(h, w, gray=gray)
            images[name] = image
            all_cases[name] = cases(h, w)
            results[name] = run_reference(predictor, image, all_cases[name])
            f = predictor._features  # Meta keeps them on the predictor after set_image
            features[name] = (
                f["image_embed"].numpy().copy(),
                f["high_res_feats"][0].numpy().copy(),
                f["high_res_feats"][1].numpy().copy(),
            )
    return Sam2Reference(size, model, checkpoint, images, all_cases, results, features)


@pytest.fixture(scope="session")
def tiny_meta(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    """Meta's Hiera-T model (SAM 2.1 config) and its checkpoint file, as Meta writes them."""
    model = build_reference("tiny")
    folder = tmp_path_factory.mktemp("sam2_tiny")
    return model, write_checkpoint(model, folder / "sam2.1_hiera_tiny_random.pt")


@pytest.fixture(scope="session")
def tiny_reference(tiny_meta, tmp_path_factory: pytest.TempPathFactory) -> Sam2Reference:
    """Hiera-T (SAM 2.1 config), Meta's results on two images."""
    return make_reference("tiny", tiny_meta[1].parent, list(IMAGES), built=tiny_meta)


@pytest.fixture(scope="session")
def video_case(tmp_path_factory: pytest.TempPathFactory):
    """Meta's video predictor and our torch propagator on the 8-frame scenario
    (:mod:`tests.sam2.video_case`), run once for every parity test."""
    from tests.sam2.video_case import build_video_case

    return build_video_case(tmp_path_factory.mktemp("sam2_video"))
