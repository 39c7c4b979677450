"""``load_predictor``: one entry point from a model file or folder to a ready Predictor."""

from __future__ import annotations

import importlib.util
import stat
from collections.abc import Callable
from pathlib import Path

from samlabel.core.errors import CheckpointError, InferenceError
from samlabel.inference.api import Predictor

#: Backends a user can ask for.
BACKENDS = ("auto", "onnxruntime", "openvino", "torch")
#: Precisions a user can ask for (which ones a backend and device offer is checked on load).
PRECISIONS = ("fp32", "bf16", "fp16")
#: Shown after the backend in ``describe()`` when ``auto`` picked it by calibration.
CHOSEN_BY_MEASUREMENT = "chosen by measurement"

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
    """The backend ``auto`` means before calibration: torch on a usable CUDA GPU, else ONNX.

    ``"onnxruntime"`` for ``auto`` stands for "an exported ONNX folder": :func:`load_predictor`
    then lets calibration choose between ONNX Runtime and OpenVINO when OpenVINO is installed.
    """
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
    precision: str | None = None,
    calibrate: bool = True,
) -> Predictor:
    """Load a SAM / MobileSAM checkpoint or a folder of exported ONNX files.

    Args:
        path: a ``.pth`` / ``.pt`` / ``.safetensors`` checkpoint (architecture read from the
            weights), or a folder written by the ONNX exporter.
        backend: ``"auto"``, ``"onnxruntime"``, ``"openvino"`` or ``"torch"``. ``auto`` takes
            torch on a usable CUDA GPU; on the CPU it takes what calibration measured fastest
            among ONNX Runtime and OpenVINO's devices and precisions that pass the quality
            gate (measured once per model and machine, then read from the cache), or ONNX
            Runtime when OpenVINO is not installed.
        device: torch: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` (default: CUDA when available);
            OpenVINO: ``"CPU"``, ``"GPU"``, ``"NPU"`` (default CPU).
        progress: called with ``(message, fraction)`` during a first-time ONNX export and a
            first-time calibration.
        threads: CPU threads for ONNX Runtime and OpenVINO (default: all).
        precision: ``"fp32"`` (default), ``"bf16"`` or ``"fp16"`` (OpenVINO only, where the
            device computes it). Giving a backend or a precision skips calibration.
        calibrate: False: ``auto`` uses a stored calibration when there is one and ONNX
            Runtime otherwise, without measuring.

    Raises:
        CheckpointError: the file is missing, unsafe, or not a SAM checkpoint.
        InferenceError: the backend could not load or run the model, or the precision is not
            available for it.
    """
    predictor = _load(path, backend, device, progress, threads, precision, calibrate)
    if not Path(path).is_dir():  # propagation loads SAM 2's memory modules from the file
        predictor.source_checkpoint = str(Path(path).resolve())
    return predictor


def _load(
    path: str | Path,
    backend: str,
    device: str | None,
    progress: ProgressCallback | None,
    threads: int | None,
    precision: str | None,
    calibrate: bool,
) -> Predictor:
    path = Path(path)
    _check_path(path)
    if path.is_dir() and not (path / "manifest.json").is_file():
        raise CheckpointError(
            f"{path} is a folder but not an exported ONNX model folder (it has no "
            "manifest.json): choose a checkpoint file (.pth, .pt, .safetensors) or such a folder.",
            path,
        )
    if not path.is_dir() and not torch_available():
        # Reading a checkpoint (and exporting it to ONNX) needs torch; say so plainly.
        raise CheckpointError(
            f"{path} is a PyTorch checkpoint, but this samlabel build has no PyTorch: it opens "
            "only exported ONNX model folders. Open the checkpoint once in a full samlabel "
            "installation (with PyTorch), which exports it to an ONNX model folder, and open "
            "that folder here; or use the full build.",
            path,
        )
    if precision is not None and precision not in PRECISIONS:
        raise InferenceError(
            f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}."
        )
    chosen = choose_backend(backend, path)
    if backend == "auto" and precision not in (None, "fp32"):
        chosen = "openvino"  # only OpenVINO offers reduced precisions
    if chosen == "torch":
        if path.is_dir():
            raise InferenceError(
                f"{path} is a folder of ONNX files; the torch backend needs a checkpoint file.",
                path,
            )
        if precision not in (None, "fp32"):
            raise InferenceError(
                f"the torch backend runs in fp32 only; {precision} is offered by OpenVINO."
            )
        from samlabel.inference.torch_backend import load_torch_predictor

        if device is not None:
            _check_torch_device(device)
        predictor = load_torch_predictor(path, device=device)
        info = getattr(predictor, "info", None)
        for notice in getattr(info, "notices", ()):  # e.g. "removed the prefix 'module.'"
            if progress is not None:
                progress(notice, 1.0)
        return predictor
    folder = _onnx_folder(path, progress)
    if chosen == "openvino":
        from samlabel.inference.openvino_backend import OpenVinoPredictor

        return OpenVinoPredictor(folder, device or "CPU", precision or "fp32", threads)
    if precision not in (None, "fp32"):
        raise InferenceError(
            f"ONNX Runtime runs SAM in fp32 only; {precision} is offered by the OpenVINO "
            "backend (--backend openvino)."
        )
    if backend == "auto":
        return _calibrated(folder, path, threads, progress, calibrate)
    from samlabel.inference.onnx_backend import OnnxPredictor

    return OnnxPredictor(folder, threads=threads)


def _check_path(path: Path) -> None:
    """CheckpointError naming ``path`` when it is missing, unreachable or not a file or folder."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist.", path) from None
    except OSError as error:  # a name too long, a symlink loop, a folder without permission
        raise CheckpointError(f"Cannot open {path}: {error.strerror or error}.", path) from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise CheckpointError(
            f"{path} is not a model file or folder (it is a pipe, socket or device).", path
        )


def _check_torch_device(device: str) -> None:
    """InferenceError naming ``device`` unless torch knows it and this machine has it."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise InferenceError(f"unknown torch device {device!r}; use cpu, cuda or cuda:N.") from None
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if cuda_available() else 0
        if count == 0:
            raise InferenceError(
                f"the torch device {device!r} was asked for, but torch sees no CUDA GPU on "
                "this machine; use --device cpu."
            )
        if parsed.index is not None and parsed.index >= count:
            raise InferenceError(
                f"the torch device {device!r} was asked for, but this machine has "
                f"{count} CUDA GPU(s) (cuda:0 to cuda:{count - 1})."
            )
    elif parsed.type != "cpu":
        raise InferenceError(f"samlabel runs torch on cpu or cuda, not {device!r}.")


def _onnx_folder(path: Path, progress: ProgressCallback | None):
    from samlabel.inference.onnx_folder import open_onnx_folder

    if path.is_dir():
        return open_onnx_folder(path)
    # The first export runs in a child process: a crash there is a message, not a dead window.
    from samlabel.inference.export_in_child import ensure_onnx_in_child

    return open_onnx_folder(ensure_onnx_in_child(path, progress=progress), check=False)


def _calibrated(folder, path: Path, threads, progress, calibrate: bool) -> Predictor:
    """``auto`` on the CPU: the measured choice, or ONNX Runtime when there is nothing to choose."""
    from samlabel.inference import calibration
    from samlabel.inference.onnx_backend import OnnxPredictor
    from samlabel.inference.openvino_backend import openvino_available

    if not openvino_available():
        return OnnxPredictor(folder, threads=threads)
    stored = calibration.load_calibration(folder.model_id)
    if stored is None and calibrate:
        stored = calibration.calibrate(folder, source=path, threads=threads, progress=progress)
    if stored is None:
        return OnnxPredictor(folder, threads=threads)
    try:
        predictor = calibration.make_predictor(folder, stored.choice, threads)
    except InferenceError:  # a device that went away since (an unplugged GPU): the safe default
        return OnnxPredictor(folder, threads=threads)
    predictor.selection = CHOSEN_BY_MEASUREMENT
    return predictor
