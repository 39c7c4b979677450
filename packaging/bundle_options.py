"""What goes into the PyInstaller bundle: modules to leave out, and the bundled models.

Plain Python (no PyInstaller import), so ``samlabel.spec`` stays short and the choices can be
tested without building. Two variants:

- **full**: torch included. Opens ``.pth`` / ``.pt`` / ``.safetensors`` checkpoints (exports
  them to ONNX on first use) and runs the torch backend. About 1 GB more on disk.
- **lite**: no torch. Opens only exported ONNX model folders (ONNX Runtime does the work);
  opening a checkpoint gives a clear message.

A bundled model is copied to ``models/<name>`` inside the bundle, which the app finds at run
time through ``samlabel.core.paths.bundled_models_dir()`` (a read-only models folder).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Folder inside the bundle (relative to ``sys._MEIPASS``) that holds bundled models.
MODELS_DEST = "models"
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".safetensors")
#: File that marks a folder written by ``samlabel.inference.onnx_export``.
ONNX_MANIFEST = "manifest.json"

#: Never needed by the app; some are optional imports of our dependencies that would
#: otherwise drag in hundreds of MB (IPython, matplotlib) or a second Qt binding.
ALWAYS_EXCLUDED = (
    "tkinter",
    "_tkinter",
    "IPython",
    "ipykernel",
    "jupyter_client",
    "matplotlib",
    "pandas",
    "scipy",
    "pytest",
    "_pytest",
    "hypothesis",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.Qt3DCore",
    "PySide6.QtMultimedia",
    "PySide6.QtCharts",
    "PySide6.QtPdf",
    # The cluster extra (samlabel[cluster]) runs on servers, not from the desktop bundle:
    # without it, --ray says how to install it. Ray and its Arrow data layer are ~250 MB.
    "ray",
    "pyarrow",
    # Meta's reference packages are test dependencies only.
    "segment_anything",
    "sam2",
    "hydra",
    "omegaconf",
    "iopath",
)

#: Left out of the lite variant: torch and what only torch (or its ONNX exporter) uses.
TORCH_ONLY = (
    "torch",
    "torchvision",
    "torchaudio",
    "functorch",
    "triton",
    "onnxscript",
    "sympy",
    "mpmath",
    "networkx",
)

#: samlabel modules that import torch at module level; useless without it.
SAMLABEL_TORCH_MODULES = ("samlabel.sam", "samlabel.inference.torch_backend")


#: Files that hooks collect but the app never loads, as bundle paths ("/"-separated prefixes):
#: torch's C++ test programs, protoc and build files (about 130 MB). Not all of torch/bin:
#: ``import torch`` checks that torch/bin/torch_shm_manager exists.
UNUSED_FILES = (
    "torch/test/",
    "torch/bin/test_",
    "torch/bin/protoc",
    "torch/bin/FileStoreTest",
    "torch/bin/HashStoreTest",
    "torch/bin/TCPStoreTest",
    "torch/include/",
    "torch/share/",
    "torch/lib/libtorchbind_test",
    # OpenVINO front ends for model formats the app never reads (it reads ONNX), by their
    # Linux/macOS and Windows names
    *(
        f"openvino/libs/{prefix}openvino_{kind}_frontend"
        for prefix in ("lib", "")
        for kind in ("paddle", "tensorflow_lite", "gguf")
    ),
)


def openvino_libraries(package_dir: Path) -> list[tuple[str, str]]:
    """OpenVINO's shared libraries as PyInstaller ``(source, destination folder)`` pairs.

    OpenVINO loads its device plugins and model-format front ends by file name at run time,
    which the analysis cannot follow (and PyInstaller's ``collect_dynamic_libs`` misses the
    versioned ``.so.NNNN`` names on Linux, among them the ONNX front end).
    """
    pairs = []
    for path in sorted(package_dir.rglob("*")):
        name = path.name
        if not path.is_file() or not (".so" in name or name.endswith((".dll", ".dylib"))):
            continue
        if name.endswith(".py") or "cpython" in name or name.endswith(".pyd"):
            continue  # Python extension modules: the analysis collects the ones imported
        dest = "/".join(("openvino", *path.parent.relative_to(package_dir).parts))
        if keep_file(f"{dest}/{name}"):
            pairs.append((str(path), dest))
    return pairs


def keep_file(bundle_path: str) -> bool:
    """Whether a collected file (its path inside the bundle) is worth shipping."""
    name = bundle_path.replace("\\", "/")
    return not name.startswith(UNUSED_FILES)


class BundleError(ValueError):
    """A bundling option that cannot work; the message says which path and why."""


@dataclass(frozen=True)
class BundledModel:
    """One model to copy into the bundle.

    Attributes:
        source: a checkpoint file or an exported ONNX folder on the build machine.
        name: file or folder name under ``models/`` in the bundle (the name the app lists).
    """

    source: Path
    name: str

    @property
    def is_onnx_folder(self) -> bool:
        return self.source.is_dir()


def excluded_modules(lite: bool) -> list[str]:
    """Module names for PyInstaller's ``excludes``."""
    excluded = list(ALWAYS_EXCLUDED)
    if lite:
        excluded += [*TORCH_ONLY, *SAMLABEL_TORCH_MODULES]
    return excluded


def keep_samlabel_module(name: str, lite: bool) -> bool:
    """Whether ``collect_submodules("samlabel")`` should keep module ``name``.

    All of samlabel is collected because subcommands are imported by name at run time
    (``importlib.import_module``), which PyInstaller's analysis cannot see.
    """
    if not lite:
        return True
    return not any(name == m or name.startswith(m + ".") for m in SAMLABEL_TORCH_MODULES)


def parse_model(text: str, lite: bool) -> BundledModel:
    """A ``--model`` option, ``PATH`` or ``NAME=PATH``, checked.

    A folder must hold ``manifest.json`` (an ONNX export); a file must be a checkpoint, which
    the lite variant refuses because it cannot open one.

    Raises:
        BundleError: missing path, not a model, or a checkpoint in a lite build.
    """
    name, sep, rest = text.partition("=")
    if sep and name and not Path(text).exists():
        path = Path(rest).expanduser()
    else:
        name, path = "", Path(text).expanduser()
    if not path.exists():
        raise BundleError(f"{path}: no such model file or folder.")
    if path.is_dir():
        if not (path / ONNX_MANIFEST).is_file():
            raise BundleError(
                f"{path} is a folder without {ONNX_MANIFEST}: bundle a folder written by the "
                "ONNX exporter (samlabel exports each checkpoint it opens into its cache "
                "folder, under onnx/), or a checkpoint file."
            )
        return BundledModel(path, _safe_name(name or path.name))
    suffix = path.suffix.lower()
    if suffix not in CHECKPOINT_SUFFIXES:
        raise BundleError(
            f"{path} is not a model: expected a {', '.join(CHECKPOINT_SUFFIXES)} checkpoint "
            "or an exported ONNX folder."
        )
    if lite:
        raise BundleError(
            f"{path} is a checkpoint, which a lite build (no torch) cannot open: bundle its "
            "exported ONNX folder instead, or build the full variant."
        )
    stem = _safe_name(name) if name else path.stem
    return BundledModel(path, stem + suffix)


def _safe_name(name: str) -> str:
    """``name`` usable as one file name on every platform."""
    cleaned = "".join(c if c.isalnum() or c in "-_. " else "_" for c in name).strip(" .")
    if not cleaned:
        raise BundleError(f"{name!r} cannot be used as a model name.")
    return cleaned


def stage_models(models: Sequence[BundledModel], staging: Path) -> list[tuple[str, str]]:
    """Copy the models under ``staging/models`` and return PyInstaller ``datas`` entries.

    Files are hard-linked when the file system allows it (models are large), else copied.
    Returns ``[(staging/models, "models")]``, or ``[]`` when there is no model.

    Raises:
        BundleError: two models would get the same name.
    """
    names = [m.name for m in models]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BundleError(f"two bundled models are both called {duplicates[0]!r}: name one.")
    target = staging / MODELS_DEST
    shutil.rmtree(target, ignore_errors=True)
    if not models:
        return []
    target.mkdir(parents=True)
    for model in models:
        destination = target / model.name
        if model.is_onnx_folder:
            shutil.copytree(model.source, destination, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(model.source), str(destination))
    return [(str(target), MODELS_DEST)]


def _link_or_copy(source: str, destination: str) -> str:
    try:
        os.link(source, destination)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, destination)
    return destination


def total_size(paths: Iterable[Path]) -> int:
    """Bytes of all files under ``paths`` (files or folders), links not followed."""
    size = 0
    for path in paths:
        if path.is_file():
            size += path.stat().st_size
            continue
        for root, _dirs, files in os.walk(path):
            for file in files:
                file_path = Path(root) / file
                if not file_path.is_symlink():
                    size += file_path.stat().st_size
    return size
