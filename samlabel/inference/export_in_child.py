"""The first ONNX export of a checkpoint, in a child process: a crash of the exporter is a message.

Exporting runs torch's tracer and ONNX Runtime's verification on a network nobody ran on this
machine before; a native crash there must not take the window with it. A checkpoint already
in the export cache costs nothing extra: :func:`ensure_onnx_in_child` asks the cache in this
process first and starts a child only when there is something to export.
"""

from __future__ import annotations

import multiprocessing
import queue
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from samlabel.core.errors import CheckpointError, InferenceError, SamlabelError
from samlabel.inference.isolated import exit_reason, start_child

ProgressCallback = Callable[[str, float], None]

#: An export that runs longer than this (seconds) is taken as hung (ViT-H on a slow laptop
#: takes minutes).
EXPORT_TIME_LIMIT_S = 3600.0


class _ExportNeeded(Exception):
    """Raised from the progress callback when the cache check finds nothing to reuse."""


def _export(checkpoint: str, cache_root: str | None, messages) -> None:
    """The child: export ``checkpoint`` and report progress, the folder or the error."""
    from samlabel.inference.onnx_export import ensure_onnx

    def report(message: str, fraction: float) -> None:
        messages.put(("progress", message, fraction))

    try:
        root = Path(cache_root) if cache_root else None
        folder = ensure_onnx(checkpoint, progress=report, cache_root=root)
    except SamlabelError as error:
        kind = "checkpoint" if isinstance(error, CheckpointError) else "inference"
        messages.put(("error", kind, str(error)))
    except Exception as error:  # anything else still reaches the user as one sentence
        messages.put(("error", "inference", f"exporting {Path(checkpoint).name} failed: {error}"))
    else:
        messages.put(("done", str(folder), 0.0))


#: What the child runs (tests put a crashing stand-in here).
_CHILD_TARGET = _export


def ensure_onnx_in_child(
    checkpoint: str | Path,
    progress: ProgressCallback | None = None,
    cache_root: Path | None = None,
) -> Path:
    """``onnx_export.ensure_onnx``, with the export itself in a child process.

    Args, returns and raises as ``ensure_onnx``; a crash or hang of the exporter raises
    :class:`InferenceError` naming the checkpoint and what happened.
    """
    from samlabel.inference import onnx_export

    def probe(message: str, fraction: float) -> None:
        if 0.0 < fraction < 1.0:  # past the cache check: exporting would start here
            raise _ExportNeeded
        if progress:
            progress(message, fraction)

    try:
        return onnx_export.ensure_onnx(checkpoint, progress=probe, cache_root=cache_root)
    except _ExportNeeded:
        pass
    return _run_child(Path(checkpoint), progress, cache_root or onnx_export.onnx_cache_root())


def _run_child(checkpoint: Path, progress: ProgressCallback | None, cache_root: Path) -> Path:
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    process = context.Process(
        target=_CHILD_TARGET, args=(str(checkpoint), str(cache_root), messages), daemon=True
    )
    start_child(process)
    deadline = time.monotonic() + EXPORT_TIME_LIMIT_S
    try:
        while True:
            message = _next_message(process, messages, deadline)
            if isinstance(message, str):  # the child died or hung: message says how
                _remove_staging(cache_root, process.pid)
                raise InferenceError(
                    f"Converting {checkpoint.name} for fast inference {message}. The model "
                    "file may be damaged, or this machine's PyTorch or ONNX Runtime may be "
                    "broken; the window stays open and another model can be chosen.",
                    checkpoint,
                )
            kind, first, second = message
            if kind != "progress":
                return _answer(kind, first, second, checkpoint)
            if progress:
                progress(first, second)
    finally:
        process.join(5.0)
        if process.is_alive():
            process.kill()
        messages.close()


def _next_message(process, messages, deadline: float) -> tuple | str:
    """The child's next message, or why there will be none (``"crashed (SIGSEGV)"``)."""
    while True:
        try:
            return messages.get(timeout=0.2)
        except queue.Empty:
            pass
        if not process.is_alive():
            process.join()
            try:  # its last words may still be in the queue
                return messages.get(timeout=1.0)
            except queue.Empty:
                return exit_reason(process.exitcode)
        if time.monotonic() > deadline:
            process.kill()
            return f"did not finish within {EXPORT_TIME_LIMIT_S:.0f} s"


def _answer(kind: str, first: str, second, checkpoint: Path) -> Path:
    """The child's final message as a result or the matching exception."""
    if kind == "done":
        return Path(first)
    if first == "checkpoint":
        raise CheckpointError(str(second), checkpoint)
    raise InferenceError(str(second), checkpoint)


def _remove_staging(cache_root: Path, pid: int | None) -> None:
    """Delete the half-written folder a crashed export left (named after its process)."""
    if pid is None:
        return
    for staging in cache_root.glob(f".staging-*-{pid}"):
        shutil.rmtree(staging, ignore_errors=True)
