"""The batched prompt decoder graph for segment everything: ``decoder_batch.onnx``.

One call decodes ``B`` prompt sets on one image. Its inputs are those of
``decoder_prompt.onnx`` (the per-image keys and values come from ``decoder_image.onnx``, once
per image) with a dynamic batch axis on the points: point_coords ``(B, N, 2)`` in the 1024
frame, point_labels ``(B, N)``; outputs iou_predictions ``(B, 4)`` and low_res_masks
``(B, 4, 256, 256)``.

The graph is written beside the other exported files of a model (or in the cache when that
folder is read-only), from the checkpoint, the first time segment everything needs it; a
folder without it still works, one prompt set per call. torch is imported only inside the
export functions.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from samlabel.core.errors import InferenceError
from samlabel.core.paths import cache_dir
from samlabel.inference.onnx_convert import convert_to_onnx

BATCH_DECODER_NAME = "decoder_batch.onnx"
BATCH_INPUTS = [
    "image_embeddings",
    "layer0_keys",
    "layer0_values",
    "point_coords",
    "point_labels",
]
BATCH_OUTPUTS = ["iou_predictions", "low_res_masks"]
#: Largest error (relative to the reference's largest magnitude) accepted after export.
VERIFY_TOLERANCE = 1e-3

log = logging.getLogger(__name__)


def batch_decoder_path(onnx_root: Path) -> Path:
    """Where the batch graph of the model in ``onnx_root`` lives (beside it, or in the cache)."""
    beside = onnx_root / BATCH_DECODER_NAME
    if beside.exists() or os.access(onnx_root, os.W_OK):
        return beside
    return cache_dir() / "onnx-batch" / f"{onnx_root.resolve().name}-{BATCH_DECODER_NAME}"


def find_batch_decoder(onnx_root: Path) -> Path | None:
    """The batch graph of ``onnx_root`` if it was exported already, else None."""
    path = batch_decoder_path(onnx_root)
    return path if path.is_file() else None


def ensure_batch_decoder(onnx_root: Path, checkpoint: str | Path) -> Path:
    """Export the batch graph for ``onnx_root`` from ``checkpoint`` unless done already.

    Raises:
        CheckpointError: the checkpoint cannot be loaded.
        InferenceError: the export failed or does not reproduce torch.
    """
    path = batch_decoder_path(onnx_root)
    if path.is_file():
        return path
    from samlabel.sam.checkpoint import load_sam_model

    model, _ = load_sam_model(checkpoint)
    export_batch_decoder(model, path)
    return path


def export_batch_decoder(model, path: Path, verify: bool = True) -> None:
    """Write ``decoder_batch.onnx`` of a :class:`~samlabel.sam.sam_model.SamModel` to ``path``.

    Written under a temporary name and renamed, so a crash never leaves half a graph behind.
    """
    import torch

    from samlabel.sam.onnx_modules import DecoderPromptBatch, model_layer0_kv

    model.eval()
    generator = torch.Generator().manual_seed(0)
    dim = model.prompt_encoder.embed_dim
    embedding = torch.randn(1, dim, 64, 64, generator=generator)
    coords = torch.rand(3, 2, 2, generator=generator) * 1024
    labels = torch.tensor([[1.0, -1.0], [1.0, -1.0], [0.0, -1.0]])
    with torch.no_grad():
        keys, values = model_layer0_kv(model, embedding)
    module = DecoderPromptBatch(model).eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # Prompt sets (axis 0) and points (axis 1) of coords and labels vary.
        convert_to_onnx(
            module,
            (embedding, keys, values, coords, labels),
            staging,
            BATCH_INPUTS,
            BATCH_OUTPUTS,
            points_axis={3: 1, 4: 1},
            batch_axis={3: 0, 4: 0},
        )
        if verify:
            _verify(module, staging)
        os.replace(staging, path)
    except InferenceError:
        staging.unlink(missing_ok=True)
        raise
    except Exception as error:  # the exporter raises many types
        staging.unlink(missing_ok=True)
        raise InferenceError(f"could not export the batch decoder: {error}") from None


def _verify(module, path: Path) -> None:
    """Run the graph and the torch module on a batch size other than the traced one."""
    import onnxruntime as ort
    import torch

    from samlabel.sam.onnx_modules import model_layer0_kv

    generator = torch.Generator().manual_seed(1)
    dim = module.model.prompt_encoder.embed_dim
    embedding = torch.randn(1, dim, 64, 64, generator=generator)
    coords = torch.rand(5, 3, 2, generator=generator) * 1024
    labels = torch.tensor([[1.0, 0.0, -1.0]] * 5)
    with torch.no_grad():
        keys, values = model_layer0_kv(module.model, embedding)
        ref_iou, ref_masks = module(embedding, keys, values, coords, labels)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = dict(
        zip(
            BATCH_INPUTS,
            (t.numpy() for t in (embedding, keys, values, coords, labels)),
            strict=True,
        )
    )
    iou, masks = session.run(None, feeds)
    for actual, expected in ((iou, ref_iou.numpy()), (masks, ref_masks.numpy())):
        scale = float(np.abs(expected).max()) or 1.0
        error = float(np.abs(actual - expected).max()) / scale
        if actual.shape != expected.shape or error > VERIFY_TOLERANCE:
            raise InferenceError(
                f"the exported batch decoder does not reproduce the original ({error:.2%})"
            )
