"""Export a SAM checkpoint to ONNX once, verify it against torch, and cache it.

The cache lives under ``cache_dir()/onnx/<sha256 of the checkpoint>/`` so a second start
does not export again, and a changed checkpoint (new digest) is exported anew. Files:

- ``encoder.onnx``: image ``(1, 3, 1024, 1024)`` -> image_embeddings ``(1, 256, 64, 64)``
- ``decoder.onnx``: the whole decoder (any prompt, mask input allowed); inputs
  image_embeddings, point_coords ``(1, N, 2)``, point_labels ``(1, N)``, mask_input
  ``(1, 1, 256, 256)``, has_mask_input ``(1,)``; outputs iou_predictions ``(1, 4)`` and
  low_res_masks ``(1, 4, 256, 256)``. Upsampling stays out of the graph.
- ``decoder_image.onnx``: the decoder's prompt-independent work for one image: the first
  two-way layer's image keys and values ``(1, heads, 4096, d)``, the image tokens
  ``(1, 4096, 256)`` (embedding plus no-mask embedding) and the same plus their positional
  encoding.
- ``decoder_prompt.onnx``: the decoder without a mask input, taking those four
  (:data:`PROMPT_INPUTS`).

The two per-click graphs compute the attentions between the prompt tokens and the 4096 image
tokens in the reordered form of :mod:`samlabel.sam.onnx_modules` (the few tokens are
projected, not the image tokens): the same values, about 1.4x less time per click. Folders
exported before keep their earlier graphs until exported again: before format 4, the per-image
graph gave the keys and values only and the per-click graph took the embedding instead of the
tokens (the backends feed either).

torch is imported only inside the functions (here, in :mod:`samlabel.inference.onnx_convert`
and in the torch backend).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from samlabel.core.errors import InferenceError
from samlabel.core.paths import cache_dir
from samlabel.inference import export_cache_guard as guard
from samlabel.inference.onnx_convert import convert_to_onnx, relative_error
from samlabel.inference.onnx_folder import write_manifest

ProgressCallback = Callable[[str, float], None]

DECODER_INPUTS = [
    "image_embeddings",
    "point_coords",
    "point_labels",
    "mask_input",
    "has_mask_input",
]
DECODER_OUTPUTS = ["iou_predictions", "low_res_masks"]
#: ``decoder_image.onnx``: what the decoder needs of the image, once per image.
IMAGE_SIDE_OUTPUTS = ["layer0_keys", "layer0_values", "image_tokens", "image_tokens_pe"]
#: ``decoder_prompt.onnx``: those (tokens first) and the prompt.
PROMPT_INPUTS = [
    "image_tokens",
    "image_tokens_pe",
    "layer0_keys",
    "layer0_values",
    "point_coords",
    "point_labels",
]
#: Largest error (relative to the reference's largest magnitude) accepted after export.
VERIFY_TOLERANCE = 1e-3


def onnx_cache_root() -> Path:
    return cache_dir() / "onnx"


def checkpoint_sha256(path: str | Path, cache_root: Path | None = None) -> str:
    """sha256 of a checkpoint, remembered per (path, size, mtime) so big files hash once.

    The memory is ``digests.json`` in ``cache_root`` (default ``cache_dir()/onnx``).
    """
    path = Path(path).resolve()
    stat = path.stat()
    index_path = (cache_root or onnx_cache_root()) / "digests.json"
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    known = index.get(key) if isinstance(index, dict) else None
    if isinstance(known, str) and guard.is_sha256(known):  # a damaged index is hashed anew
        return known
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    value = digest.hexdigest()
    index = index if isinstance(index, dict) else {}
    index[key] = value
    with contextlib.suppress(OSError):  # a read-only cache only costs a re-hash next time
        index_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = index_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(index), encoding="utf-8")
        os.replace(tmp, index_path)
    return value


#: Whether a cache folder has a manifest of this format and every file it names.
_is_complete = guard.is_complete


def ensure_onnx(
    checkpoint: str | Path,
    progress: ProgressCallback | None = None,
    cache_root: Path | None = None,
) -> Path:
    """The folder of exported ONNX files for ``checkpoint``, exporting it if needed.

    A cached folder is used only when its files match the hashes recorded at export
    (:mod:`samlabel.inference.export_cache_guard`); a damaged one is exported again, with a
    notice through ``progress`` and the log. When the cache folder cannot be written, the
    export goes to a temporary folder for this session (said through ``progress`` too).

    Args:
        checkpoint: a SAM / MobileSAM checkpoint file.
        progress: called with ``(message, fraction in [0, 1])``.
        cache_root: where exports are kept (default ``cache_dir()/onnx``).

    Raises:
        CheckpointError: the checkpoint cannot be loaded.
        InferenceError: the export failed or does not reproduce torch, or no folder at all
            could be written.
    """
    report = progress or (lambda message, fraction: None)
    checkpoint = Path(checkpoint)
    report("Checking the model file", 0.0)
    root = cache_root or onnx_cache_root()
    digest = checkpoint_sha256(checkpoint, root)
    target = root / digest
    guard.remove_stale_staging(root)  # left by conversions that were killed (cheap)
    if _is_complete(target) and guard.find_damage(target) is None:
        report("Model ready", 1.0)
        return target

    def write(staging: Path) -> None:
        export_checkpoint(checkpoint, staging, digest, report)

    try:
        root.mkdir(parents=True, exist_ok=True)
        return guard.export_into(root, digest, write, report)
    except OSError as error:
        reason = error.strerror or str(error)
        notice = (
            f"The model cache folder {root} cannot be written ({reason}): the converted model "
            "is kept in a temporary folder for this session only. Set SAMLABEL_CACHE_DIR to a "
            "writable folder to keep it."
        )
    report(notice, 0.0)
    temporary = guard.fallback_root(notice)
    try:
        return guard.export_into(temporary, digest, write, report)
    except OSError as error:
        raise InferenceError(
            f"cannot convert {checkpoint.name}: neither the model cache folder {root} nor the "
            f"temporary folder {temporary} can be written ({error.strerror or error}).",
            root,
        ) from None


def export_checkpoint(
    checkpoint: Path, out_dir: Path, digest: str, report: ProgressCallback
) -> None:
    """Load ``checkpoint``, write the ONNX files and manifest into ``out_dir``, verify them."""
    from samlabel.sam.checkpoint import load_sam_model
    from samlabel.sam.sam2_checkpoint import checkpoint_family

    if checkpoint_family(checkpoint) == "sam2":
        from samlabel.inference.sam2_export import export_sam2_checkpoint

        export_sam2_checkpoint(checkpoint, out_dir, digest, report)
        return
    report("Loading the model", 0.05)
    model, info = load_sam_model(checkpoint)
    for notice in info.notices:  # e.g. "removed the prefix 'module.'": the caller shows it
        report(notice, 0.05)
    export_model(
        model,
        out_dir,
        model_name=info.name,
        manifest_extra={
            "encoder_kind": info.encoder_kind,
            "checkpoint_sha256": digest,
            "checkpoint_file": checkpoint.name,
        },
        report=report,
    )


def export_model(
    model,
    out_dir: Path,
    model_name: str,
    manifest_extra: dict | None = None,
    report: ProgressCallback | None = None,
    verify: bool = True,
) -> None:
    """Write the ONNX files of a :class:`~samlabel.sam.sam_model.SamModel` and a manifest.

    Args:
        model: the torch model (put in eval mode here).
        out_dir: an existing, empty folder.
        model_name: human name for the manifest.
        manifest_extra: more manifest entries (checkpoint digest, encoder kind).
        report: progress callback ``(message, fraction)``.
        verify: run both and compare (:func:`verify_export`); raise when they differ.
    """
    import torch

    from samlabel.sam.onnx_modules import (
        DecoderImageSide,
        DecoderPromptSide,
        EncoderForExport,
        FullDecoder,
        example_decoder_inputs,
    )

    report = report or (lambda message, fraction: None)
    model.eval()
    image_side = DecoderImageSide(model)
    embedding, coords, labels, mask, has_mask = example_decoder_inputs()
    with torch.no_grad():
        image_outputs = image_side(embedding)

    report("Converting the image encoder (once per model)", 0.1)
    convert_to_onnx(
        EncoderForExport(model),
        (torch.zeros(1, 3, 1024, 1024),),
        out_dir / "encoder.onnx",
        ["image"],
        ["image_embeddings"],
        points_axis=None,
    )
    report("Converting the mask decoder", 0.5)
    convert_to_onnx(
        FullDecoder(model),
        (embedding, coords, labels, mask, has_mask),
        out_dir / "decoder.onnx",
        DECODER_INPUTS,
        DECODER_OUTPUTS,
        points_axis={1: 1, 2: 1},
    )
    convert_to_onnx(
        image_side,
        (embedding,),
        out_dir / "decoder_image.onnx",
        ["image_embeddings"],
        IMAGE_SIDE_OUTPUTS,
        points_axis=None,
    )
    keys, values, tokens, tokens_pe = image_outputs
    convert_to_onnx(
        DecoderPromptSide(model),
        (tokens, tokens_pe, keys, values, coords, labels),
        out_dir / "decoder_prompt.onnx",
        PROMPT_INPUTS,
        DECODER_OUTPUTS,
        points_axis={4: 1, 5: 1},
    )
    if verify:
        report("Checking the converted model against the original", 0.7)
        verify_export(model, out_dir)
    write_manifest(out_dir, model_name, manifest_extra)


def verify_export(model, out_dir: Path) -> None:
    """Run each ONNX file and its torch module on the same random inputs; raise if they differ."""
    import onnxruntime as ort
    import torch

    from samlabel.sam.onnx_modules import example_decoder_inputs

    generator = torch.Generator().manual_seed(0)
    image = torch.randn(1, 3, 1024, 1024, generator=generator)
    embedding, coords, labels, mask, has_mask = example_decoder_inputs(num_points=4, seed=1)

    model.eval()  # an exporter may leave modules in training mode (BatchNorm would then differ)

    def session(name: str):
        return ort.InferenceSession(str(out_dir / name), providers=["CPUExecutionProvider"])

    checks: list[tuple[str, float]] = []
    with torch.no_grad():
        expected = model.image_encoder(image).numpy()
    (actual,) = session("encoder.onnx").run(None, {"image": image.numpy()})
    checks.append(("image encoder", relative_error(actual, expected)))

    with torch.no_grad():
        ref_masks, ref_iou = model.decode(embedding, coords, labels, mask, has_mask)
    feeds = dict(
        zip(
            DECODER_INPUTS,
            (t.numpy() for t in (embedding, coords, labels, mask, has_mask)),
            strict=True,
        )
    )
    iou, masks = session("decoder.onnx").run(None, feeds)
    checks.append(("mask decoder", relative_error(masks, ref_masks.numpy())))
    checks.append(("IoU head", relative_error(iou, ref_iou.numpy())))

    no_mask = torch.zeros(1)
    with torch.no_grad():
        ref_masks, _ = model.decode(embedding, coords, labels, mask, no_mask)
    keys, values, tokens, tokens_pe = session("decoder_image.onnx").run(
        None, {"image_embeddings": embedding.numpy()}
    )
    inputs = (tokens, tokens_pe, keys, values, coords.numpy(), labels.numpy())
    _, masks = session("decoder_prompt.onnx").run(
        None, dict(zip(PROMPT_INPUTS, inputs, strict=True))
    )
    checks.append(("split mask decoder", relative_error(masks, ref_masks.numpy())))
    failed = [
        f"{name} differs by {error:.2%}" for name, error in checks if error > VERIFY_TOLERANCE
    ]
    if failed:
        raise InferenceError(
            "the converted model does not reproduce the original: " + ", ".join(failed)
        )
