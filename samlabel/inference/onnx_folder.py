"""A folder of exported ONNX files: its manifest, and the safety checks before loading it.

Layout (written by :mod:`samlabel.inference.onnx_export`)::

    manifest.json   {"format": "samlabel-onnx", "version": 1, "model_name": ..., "files": {...}}
    encoder.onnx    image (1, 3, 1024, 1024) float32 -> image_embeddings (1, 256, 64, 64)
    decoder.onnx    image_embeddings, point_coords (1, N, 2), point_labels (1, N),
                    mask_input (1, 1, 256, 256), has_mask_input (1,)
                    -> iou_predictions (1, 4), low_res_masks (1, 4, 256, 256)

A folder is refused when a tensor's external data lies outside the folder (a model file could
otherwise make us read any file on disk) or when it needs operators from a custom library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from samlabel.core.errors import CheckpointError

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "samlabel-onnx"
#: 2: decoder graphs that transform the prompt tokens instead of the 4096 image tokens, and
#: SAM 2's split decoder. 3: SAM 1's mask heads in token order (no transposed convolutions).
#: 4: SAM 1's per-image graph also gives the image tokens (and plus their encoding), which
#: the per-click graph takes instead of the embedding; sub-pixels placed by DepthToSpace.
#: Cached conversions of an older version are converted again (once); folders a person
#: exported with an older version still open as they are.
FORMAT_VERSION = 4
#: Operator domains ONNX Runtime implements itself; anything else needs a custom op library.
BUILTIN_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})
REQUIRED_FILES = ("encoder", "decoder")
#: Model families a folder can hold: SAM 1 / MobileSAM graphs, or SAM 2's (three encoder outputs).
FAMILIES = ("sam", "sam2")


@dataclass(frozen=True)
class OnnxModelFolder:
    """A checked folder of exported ONNX files.

    Attributes:
        root: the folder.
        model_name: human name, for example "SAM ViT-B".
        files: role ("encoder", "decoder", optional "decoder_image") -> path of the .onnx file.
        checkpoint_sha256: digest of the checkpoint it was exported from, if known.
        family: ``"sam"`` (SAM 1 / MobileSAM graphs) or ``"sam2"`` (SAM 2: the encoder also
            returns two high-resolution maps; see :mod:`samlabel.inference.sam2_export`).
    """

    root: Path
    model_name: str
    files: dict[str, Path]
    checkpoint_sha256: str | None
    family: str = "sam"

    @property
    def model_id(self) -> str:
        """A stable identifier for caches (embedding cache keys)."""
        return self.checkpoint_sha256 or f"onnx:{self.root.resolve()}"


def read_manifest(root: Path) -> dict:
    """The manifest of ``root``; CheckpointError naming the folder if it is missing or broken."""
    path = root / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(
            f"{root} is not a samlabel ONNX model folder: it has no {MANIFEST_NAME}.", root
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} cannot be read: {error}.", path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path} is not a samlabel ONNX manifest.", path)
    if int(manifest.get("version", 0)) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer samlabel (format version {manifest.get('version')}); "
            "update samlabel or export the model again.",
            path,
        )
    return manifest


def _check_onnx_file(path: Path, root: Path) -> None:
    """Refuse external data outside ``root`` and custom operator domains."""
    import onnx
    from onnx.external_data_helper import uses_external_data

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf raises several unrelated types
        raise CheckpointError(f"{path} is not a readable ONNX file ({error}).", path) from None
    root_resolved = root.resolve()
    for tensor in _all_initializers(model.graph):
        if not uses_external_data(tensor):
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        target = (path.parent / location).resolve()
        if Path(location).is_absolute() or not target.is_relative_to(root_resolved):
            raise CheckpointError(
                f"{path} was refused: tensor {tensor.name!r} reads its data from {location!r}, "
                f"outside the model folder {root}.",
                path,
            )
    domains = {opset.domain for opset in model.opset_import}
    domains |= {node.domain for node in _all_nodes(model.graph)}
    foreign = sorted(d for d in domains if d not in BUILTIN_DOMAINS)
    local_functions = {f.domain for f in model.functions}
    foreign = [d for d in foreign if d not in local_functions]
    if foreign:
        raise CheckpointError(
            f"{path} was refused: it needs custom operators ({', '.join(foreign)}) that "
            "samlabel does not load.",
            path,
        )


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.g is not None and attribute.g.node:
                yield from _all_nodes(attribute.g)
            for sub in attribute.graphs:
                yield from _all_nodes(sub)


def _all_initializers(graph):
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.t is not None and attribute.t.name:
                yield attribute.t
            if attribute.g is not None and attribute.g.node:
                yield from _all_initializers(attribute.g)


def open_onnx_folder(root: str | Path, check: bool = True) -> OnnxModelFolder:
    """Read and check a folder of exported ONNX files.

    Args:
        root: the folder.
        check: run the external-data and custom-operator checks (skipped for folders this
            process exported itself).
    """
    root = Path(root)
    if not root.is_dir():
        raise CheckpointError(f"{root} is not a folder.", root)
    manifest = read_manifest(root)
    files_spec = manifest.get("files", {})
    files: dict[str, Path] = {}
    for role, name in files_spec.items():
        path = (root / str(name)).resolve()
        if not path.is_relative_to(root.resolve()):
            raise CheckpointError(f"{root / MANIFEST_NAME} names a file outside the folder.", root)
        files[role] = path
    family = str(manifest.get("family", "sam"))
    if family not in FAMILIES:
        raise CheckpointError(
            f"{root / MANIFEST_NAME} is for a model family samlabel does not know ({family!r}); "
            "update samlabel or export the model again.",
            root,
        )
    for role in REQUIRED_FILES:
        if role not in files or not files[role].is_file():
            raise CheckpointError(f"{root} has no {role} model file.", root)
    if check:
        for path in files.values():
            _check_onnx_file(path, root)
    return OnnxModelFolder(
        root=root,
        model_name=str(manifest.get("model_name", root.name)),
        files=files,
        checkpoint_sha256=manifest.get("checkpoint_sha256"),
        family=family,
    )


def write_manifest(
    out_dir: Path, model_name: str, extra: dict | None = None, family: str | None = None
) -> None:
    """Write ``out_dir/manifest.json`` of a finished export: this format and version, the
    model's name, ``extra`` fields (e.g. the checkpoint's file and hash), the ``family``
    (None for SAM 1 / MobileSAM) and the four graph files every export writes."""
    manifest: dict = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
    if family is not None:
        manifest["family"] = family
    manifest["model_name"] = model_name
    manifest.update(extra or {})
    manifest["files"] = {
        name: f"{name}.onnx" for name in ("encoder", "decoder", "decoder_image", "decoder_prompt")
    }
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
