"""Checks of a Predictor against Meta's reference outputs (see the fixtures' README).

Per case: masks agree on >= 99.5% of pixels, scores within 0.02, low-res logits within 5%
mean relative error; the embedding within 5% of its largest absolute value.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from samlabel.inference.api import Predictor

CASE_NAMES = [
    "one_point",
    "pos_neg_points",
    "box_only",
    "box_and_point",
    "five_points_single",
    "refine_with_mask_input",
]


class ReferenceCases:
    """One fixture folder: image, cases and the reference arrays."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.image = np.asarray(Image.open(folder / "image.png").convert("RGB"))
        self.expected = dict(np.load(folder / "expected.npz"))
        meta = json.loads((folder / "cases.json").read_text())
        self.cases = {case["name"]: case for case in meta["cases"]}

    def prompts(self, name: str):
        """``(points, box, mask_input, multimask)`` of a case, as Predictor.decode takes them."""
        case = self.cases[name]
        points = None
        if "point_coords" in case:
            points = [
                (x, y, label)
                for (x, y), label in zip(case["point_coords"], case["point_labels"], strict=True)
            ]
        mask_input = None
        if "mask_input_from" in case:
            source = case["mask_input_from"]
            mask_input = self.expected[f"{source['case']}__low_res_logits"][source["index"]]
        return points, case.get("box"), mask_input, case["multimask"]

    def check_embedding(self, features: np.ndarray) -> float:
        expected = self.expected["image_embedding"]
        assert features.shape == (1, 256, 64, 64)
        assert features.dtype == np.float32
        error = float(np.abs(features - expected).max() / np.abs(expected).max())
        assert error < 0.05, f"embedding differs by {error:.2%} of its largest value"
        return error

    def check_case(self, predictor: Predictor, embedding, name: str) -> None:
        points, box, mask_input, multimask = self.prompts(name)
        prediction = predictor.decode(embedding, points, box, mask_input, multimask)
        k = 3 if multimask else 1
        ref_masks = self.expected[f"{name}__masks"]
        ref_low = self.expected[f"{name}__low_res_logits"]
        assert prediction.masks.shape == ref_masks.shape == (k, *self.image.shape[:2])
        assert prediction.masks.dtype == np.bool_
        assert prediction.scores.shape == (k,)
        assert prediction.low_res_logits.shape == (k, 256, 256)
        for i in range(k):
            agreement = (prediction.masks[i] == ref_masks[i]).mean()
            assert agreement >= 0.995, f"{name}[{i}]: masks agree on {agreement:.2%}"
            low = prediction.low_res_logits[i]
            rel = np.abs(low - ref_low[i]).mean() / np.abs(ref_low[i]).mean()
            assert rel < 0.05, f"{name}[{i}]: low-res logits differ by {rel:.2%}"
        np.testing.assert_allclose(
            prediction.scores, self.expected[f"{name}__iou_predictions"], atol=0.02
        )
