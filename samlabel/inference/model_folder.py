"""The models folder on disk: where it is, whether it can be written, what in it is a model.

Plain file-system rules, no registry and no network: :mod:`samlabel.inference.model_store`
builds the listing and the changes on top of them.
"""

from __future__ import annotations

import errno
import re
import tempfile
from pathlib import Path

from samlabel.core import paths
from samlabel.core.errors import SamlabelError

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".safetensors")
ONNX_MANIFEST = "manifest.json"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class ModelFolderError(SamlabelError):
    """The models folder cannot be changed (read-only, a file in the way, disk full)."""


def models_folder(setting: str | Path | None = None) -> Path:
    """The models folder: ``setting`` when given, else ``SAMLABEL_MODELS_DIR``, else the default."""
    if setting is not None and str(setting).strip():
        return Path(setting).expanduser()
    return paths.models_dir()


def folder_is_writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (or in the folders that would create it).

    Tries to create a temporary file rather than trusting permission bits, which lie for
    root, network shares and read-only mounts.
    """
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    if not probe.is_dir():
        return False
    try:
        with tempfile.TemporaryFile(dir=probe):
            return True
    except OSError:
        return False


def custom_name(path: Path, official_files: set[str]) -> str | None:
    """The model name of a custom file or ONNX folder, or None if ``path`` is not a model."""
    if path.name.startswith(".") or path.name in official_files:
        return None
    if path.is_file() and path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return path.stem
    if path.is_dir() and (path / ONNX_MANIFEST).is_file():
        return path.name
    return None


def custom_file_name(name: str, source: Path) -> str:
    """``name`` made safe as a file name, with the source's suffix."""
    stem = _UNSAFE_NAME.sub("_", name).strip("._") or "model"
    suffix = source.suffix.lower()
    if stem.lower().endswith(suffix):
        stem = stem[: -len(suffix)]
    return stem + suffix


def size_on_disk(path: Path) -> int:
    """Bytes of a file, or of all files under an ONNX folder."""
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def folder_error(folder: Path, error: OSError, action: str) -> ModelFolderError:
    """The error for a failed change; ``action`` completes "Cannot ... <folder>"."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = "the disk is full"
    elif isinstance(error, (NotADirectoryError, FileExistsError)) or error.errno == errno.ENOTDIR:
        reason = "a file is in the way of that folder"
    elif error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        reason = "it is read-only"
    else:
        reason = error.strerror or str(error)
    return ModelFolderError(
        f"Cannot {action} {folder}: {reason}. Choose a writable models folder in the settings "
        "or with the SAMLABEL_MODELS_DIR environment variable.",
        folder,
    )
