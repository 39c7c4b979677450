"""``load_predictor``: one entry point from a model file or folder to a ready Predictor."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from samlabel.core.errors import CheckpointError, InferenceError
from samlabel.inference.api import Predictor

#: Backends a user can ask for.
BACKENDS = ("auto", "onnxruntime", "torch")

ProgressCallback = Callable[[str, float], None]


def cuda_available() -> bool:
    """True when torch is installed with a usable CUDA GPU (checked without raising)."""
    try:
        import torch

        return bool(torch.cuda.is_available()) and torch.cuda.device_count() > 0
    except Exception:  # a broken driver must not stop the CPU path
        return False


def torch_available() -> bool:
    """Whether torch can be imported here (a "lite" packaged build leaves it out).

    Asks the import system instead of importing torch, which costs seconds at startup.
    """
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def choose_backend(requested: str, path: Path) -> str:
    """The backend ``auto`` means here: torch on a usable CUDA GPU, else ONNX Runtime."""
    if requested not in BACKENDS:
        raise InferenceError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}.")
    if requested != "auto":
        return requested
    if path.is_dir():
        return "onnxruntime"
    return "torch" if cuda_available() else "onnxruntime"


def load_predictor(
    path: str | Path,
    backend: str = "auto",
    device: str | None = None,
    progress: ProgressCallback | None = None,
    threads: int | None = None,
) -> Predictor:
    """Load a SAM / MobileSAM checkpoint or a folder of exported ONNX files.

    Args:
        path: a ``.pth`` / ``.pt`` / ``.safetensors`` checkpoint (architecture read from the
            weights), or a folder written by the ONNX exporter.
        backend: ``"auto"`` (torch on CUDA when a GPU is usable, ONNX Runtime on the CPU
            otherwise), ``"onnxruntime"`` or ``"torch"``.
        device: torch backend only: ``"cpu"``, ``"cuda"``, ``"cuda:1"``; default picks CUDA
            when available.
        progress: called with ``(message, fraction)`` during a first-time ONNX export.
        threads: CPU threads for ONNX Runtime (default: all).

    Raises:
        CheckpointError: the file is missing, unsafe, or not a SAM checkpoint.
        InferenceError: the backend could not load or run the model.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist.", path)
    if not path.is_dir() and not torch_available():
        # Reading a checkpoint (and exporting it to ONNX) needs torch; say so plainly.
        raise CheckpointError(
            f"{path} is a PyTorch checkpoint, but this samlabel build has no PyTorch: it opens "
            "only exported ONNX model folders. Open the checkpoint once in a full samlabel "
            "installation (with PyTorch), which exports it to an ONNX model folder, and open "
            "that folder here; or use the full build.",
            path,
        )
    chosen = choose_backend(backend, path)
    if chosen == "torch":
        if path.is_dir():
            raise InferenceError(
                f"{path} is a folder of ONNX files; the torch backend needs a checkpoint file.",
                path,
            )
        from samlabel.inference.torch_backend import load_torch_predictor

        return load_torch_predictor(path, device=device)
    from samlabel.inference.onnx_backend import OnnxPredictor
    from samlabel.inference.onnx_folder import open_onnx_folder

    if path.is_dir():
        return OnnxPredictor(open_onnx_folder(path), threads=threads)
    from samlabel.inference.onnx_export import ensure_onnx

    folder = ensure_onnx(path, progress=progress)
    return OnnxPredictor(open_onnx_folder(folder, check=False), threads=threads)
