"""Export a SAM 2 / 2.1 checkpoint to ONNX (called by :func:`onnx_export.ensure_onnx`).

Files, beside a manifest with ``"family": "sam2"``:

- ``encoder.onnx``: image ``(1, 3, 1024, 1024)`` -> image_embeddings ``(1, 256, 64, 64)``
  (``no_mem_embed`` added), high_res_s0 ``(1, 32, 256, 256)``, high_res_s1
  ``(1, 64, 128, 128)`` (already through ``conv_s0`` / ``conv_s1``: that per-image work is
  done once, not per click);
- ``decoder.onnx``: those three, point_coords ``(B, N, 2)``, point_labels ``(B, N)``,
  mask_input ``(B, 1, 256, 256)``, has_mask_input ``(B,)`` -> iou_predictions ``(B, 4)``,
  low_res_masks ``(B, 4, 256, 256)``; ``B`` prompt sets and ``N`` points are dynamic.
  Upsampling stays out of the graph.
- ``decoder_image.onnx``: image_embeddings -> layer0_keys, layer0_values
  ``(1, 8, 4096, 16)``: the decoder's prompt-independent work without a mask input, run
  once per image;
- ``decoder_prompt.onnx``: the decoder without a mask input, taking those two beside the
  three encoder outputs, point_coords and point_labels (a click on a new object, a box).

Both decoders compute the two-way transformer in a cheaper order than Meta's (no attention
projects the 4096 image tokens; :func:`samlabel.sam.onnx_modules.two_way_reordered`).

torch is imported only inside the functions.
"""

from __future__ import annotations

from pathlib import Path

from samlabel.core.errors import InferenceError
from samlabel.inference.onnx_convert import convert_to_onnx, relative_error
from samlabel.inference.onnx_export import VERIFY_TOLERANCE, ProgressCallback
from samlabel.inference.onnx_folder import write_manifest

#: The ``family`` a SAM 2 folder's manifest names.
FAMILY = "sam2"


def export_sam2_checkpoint(
    checkpoint: Path, out_dir: Path, digest: str, report: ProgressCallback
) -> None:
    """Load a SAM 2 ``checkpoint``, write the ONNX files and manifest into ``out_dir``, verify."""
    from samlabel.sam.sam2_checkpoint import load_sam2_model

    report("Loading the model", 0.05)
    model, info = load_sam2_model(checkpoint)
    export_sam2_model(
        model,
        out_dir,
        info.name,
        {
            "encoder_kind": info.encoder_kind,
            "checkpoint_sha256": digest,
            "checkpoint_file": checkpoint.name,
        },
        report,
    )


def export_sam2_model(
    model,
    out_dir: Path,
    model_name: str,
    manifest_extra: dict | None = None,
    report: ProgressCallback | None = None,
    verify: bool = True,
) -> None:
    """Write the two ONNX graphs of a :class:`~samlabel.sam.sam2_model.Sam2Model` and a manifest.

    Raises:
        InferenceError: the conversion failed or (``verify``) does not reproduce torch.
    """
    import torch

    from samlabel.sam.sam2_onnx_modules import (
        DECODER_IMAGE_OUTPUTS,
        DECODER_INPUTS,
        DECODER_OUTPUTS,
        DECODER_PROMPT_INPUTS,
        ENCODER_INPUTS,
        ENCODER_OUTPUTS,
        Sam2DecoderForExport,
        Sam2DecoderImageSide,
        Sam2DecoderPromptSide,
        Sam2EncoderForExport,
        example_sam2_decoder_inputs,
    )

    report = report or (lambda message, fraction: None)
    model.eval()
    report("Converting the image encoder (once per model)", 0.1)
    convert_to_onnx(
        Sam2EncoderForExport(model),
        (torch.zeros(1, 3, 1024, 1024),),
        out_dir / "encoder.onnx",
        ENCODER_INPUTS,
        ENCODER_OUTPUTS,
        points_axis=None,
    )
    report("Converting the mask decoder", 0.5)
    # Prompt sets (B) and points (N) both vary: name the axes explicitly.
    example = example_sam2_decoder_inputs(batch=2, num_points=3)
    convert_to_onnx(
        Sam2DecoderForExport(model),
        example,
        out_dir / "decoder.onnx",
        DECODER_INPUTS,
        DECODER_OUTPUTS,
        points_axis={3: 1, 4: 1},
        batch_axis={3: 0, 4: 0, 5: 0, 6: 0},
    )
    image_side = Sam2DecoderImageSide(model)
    with torch.no_grad():
        layer0_kv = image_side(example[0])
    convert_to_onnx(
        image_side,
        (example[0],),
        out_dir / "decoder_image.onnx",
        ["image_embeddings"],
        DECODER_IMAGE_OUTPUTS,
        points_axis=None,
    )
    convert_to_onnx(
        Sam2DecoderPromptSide(model),
        (*example[:3], *layer0_kv, *example[3:5]),
        out_dir / "decoder_prompt.onnx",
        DECODER_PROMPT_INPUTS,
        DECODER_OUTPUTS,
        points_axis={5: 1, 6: 1},
        batch_axis={5: 0, 6: 0},
    )
    if verify:
        report("Checking the converted model against the original", 0.7)
        verify_sam2_export(model, out_dir)
    write_manifest(out_dir, model_name, manifest_extra, FAMILY)


def verify_sam2_export(model, out_dir: Path) -> None:
    """Run the graphs and the torch model on the same random inputs; raise if they differ.

    The decoders are checked with a batch of three prompt sets of four points, shapes other
    than the traced ones, so a dynamic axis that was frozen shows here; the split decoder
    against the torch model without a mask input.
    """
    import onnxruntime as ort
    import torch

    from samlabel.sam.sam2_onnx_modules import (
        DECODER_INPUTS,
        DECODER_PROMPT_INPUTS,
        example_sam2_decoder_inputs,
    )

    def session(name: str):
        return ort.InferenceSession(str(out_dir / name), providers=["CPUExecutionProvider"])

    image = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = [t.numpy() for t in model.encode_image(image)]
    actual = session("encoder.onnx").run(None, {"image": image.numpy()})
    checks = [
        (f"image encoder output {i}", relative_error(a, e))
        for i, (a, e) in enumerate(zip(actual, expected, strict=True))
    ]
    inputs = example_sam2_decoder_inputs(batch=3, num_points=4, seed=1)
    with torch.no_grad():
        ref_masks, ref_iou = model.decode(*inputs)
    feeds = dict(zip(DECODER_INPUTS, (t.numpy() for t in inputs), strict=True))
    iou, masks = session("decoder.onnx").run(None, feeds)
    checks.append(("mask decoder", relative_error(masks, ref_masks.numpy())))
    checks.append(("IoU head", relative_error(iou, ref_iou.numpy())))
    embedding, s0, s1, coords, labels = inputs[:5]
    with torch.no_grad():
        ref_masks, ref_iou = model.decode(*inputs[:6], torch.zeros(coords.shape[0]))
    keys, values = session("decoder_image.onnx").run(None, {"image_embeddings": embedding.numpy()})
    split = (
        embedding.numpy(),
        s0.numpy(),
        s1.numpy(),
        keys,
        values,
        coords.numpy(),
        labels.numpy(),
    )
    iou, masks = session("decoder_prompt.onnx").run(
        None, dict(zip(DECODER_PROMPT_INPUTS, split, strict=True))
    )
    checks.append(("split mask decoder", relative_error(masks, ref_masks.numpy())))
    checks.append(("split IoU head", relative_error(iou, ref_iou.numpy())))
    failed = [f"{name} differs by {err:.2%}" for name, err in checks if err > VERIFY_TOLERANCE]
    if failed:
        raise InferenceError(
            "the converted SAM 2 model does not reproduce the original: " + ", ".join(failed)
        )
