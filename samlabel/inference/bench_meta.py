"""Meta's own paths beside ours in ``samlabel bench`` (optional: needs ``segment-anything``).

The same random weights are loaded into Meta's ``Sam`` (the key names are the official
ones), so each comparison runs the same network on the same image and prompts:

- encode: ``SamPredictor.set_image`` in torch;
- full-size masks of a click: the ONNX graph Meta's ``scripts/export_onnx_model.py`` writes
  (``SamOnnxModel``, upsampling inside, three masks at the original size) in ONNX Runtime;
- the chosen mask alone: ``Sam.postprocess_masks`` on its low-res logits, in torch.

``segment_anything`` imports torchvision, which a CPU-only torch often cannot load; in a
source checkout the stand-in the tests use (``tests/meta_reference``) is tried then. When
neither works, the rows are skipped with a note: the bench never needs test dependencies.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np


def import_segment_anything() -> tuple[ModuleType | None, str]:
    """``(segment_anything, "")``, or ``(None, why not)``."""
    try:
        return importlib.import_module("segment_anything"), ""
    except Exception as error:  # torchvision missing or broken, or not installed
        first = f"{type(error).__name__}: {error}"
    try:  # a source checkout: the tests' stand-in for the torchvision helpers Meta imports
        reference = importlib.import_module("tests.meta_reference")
        reference.ensure_torchvision()
        return importlib.import_module("segment_anything"), ""
    except Exception:
        return None, f"Meta's segment-anything is not importable here ({first})"


class MetaPaths:
    """Meta's predictor, ONNX graph and postprocessing for one of our random-weight models."""

    def __init__(self, segment_anything: ModuleType, model) -> None:
        """Build Meta's ``Sam`` with ``model``'s architecture and load its weights into it.

        Raises:
            ValueError: Meta's package cannot build that architecture (MobileSAM's TinyViT,
                a window size other than 14).
        """
        import torch

        from samlabel.sam.checkpoint import _is_tiny_vit, infer_vit_config

        state = model.state_dict()
        if _is_tiny_vit(state):
            raise ValueError("MobileSAM's TinyViT is not in Meta's segment-anything")
        vit = infer_vit_config(state)
        if vit.window_size != 14:
            raise ValueError(f"Meta's ViT has windows of 14, this one {vit.window_size}")
        build_module = importlib.import_module("segment_anything.build_sam")
        self.sam = build_module._build_sam(
            encoder_embed_dim=vit.embed_dim,
            encoder_depth=vit.depth,
            encoder_num_heads=vit.num_heads,
            encoder_global_attn_indexes=list(vit.global_attn_indexes),
            checkpoint=None,
        ).eval()
        self.sam.load_state_dict(state)
        self.predictor = segment_anything.SamPredictor(self.sam)
        self.segment_anything = segment_anything
        self._torch = torch

    def encode(self, image: np.ndarray) -> None:
        """``SamPredictor.set_image`` on ``(H, W, 3)`` uint8 RGB."""
        with self._torch.no_grad():
            self.predictor.set_image(image)

    def export_onnx(self, path: Path) -> None:
        """Meta's ONNX decoder with upsampling (``SamOnnxModel``, three masks) to ``path``."""
        import torch

        from samlabel.inference.onnx_convert import convert_to_onnx as _export
        from samlabel.sam.onnx_modules import example_decoder_inputs

        meta_onnx = importlib.import_module("segment_anything.utils.onnx")
        module = meta_onnx.SamOnnxModel(self.sam, return_single_mask=False)
        args = (*example_decoder_inputs(), torch.tensor([864.0, 1152.0]))
        names = [
            "image_embeddings",
            "point_coords",
            "point_labels",
            "mask_input",
            "has_mask_input",
            "orig_im_size",
        ]
        _export(
            module, args, path, names, ["masks", "iou_predictions", "low_res_masks"], {1: 1, 2: 1}
        )

    def full_mask(
        self, low_res: np.ndarray, input_size: tuple[int, int], original_size: tuple[int, int]
    ) -> np.ndarray:
        """``(H, W)`` bool: ``postprocess_masks(...) > 0`` of one ``(256, 256)`` logit map."""
        with self._torch.no_grad():
            masks = self.sam.postprocess_masks(
                self._torch.from_numpy(np.ascontiguousarray(low_res))[None, None],
                input_size,
                original_size,
            )
        return (masks[0, 0] > 0).numpy()
