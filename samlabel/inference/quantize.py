"""An int8 (dynamically quantised) copy of the per-click decoder, as an option.

Meta's own web demo runs a dynamically quantised decoder. Weights become int8, activations
are quantised on the fly; ``samlabel bench`` reports its speed and how often its masks
disagree with fp32. The copy is written once beside the fp32 file, or in the cache when the
model folder is read-only.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

from samlabel.core.errors import InferenceError
from samlabel.core.paths import cache_dir


def int8_path_for(fp32_path: Path) -> Path:
    """Where the int8 copy of ``fp32_path`` lives (beside it, or in the cache if read-only)."""
    beside = fp32_path.with_name(fp32_path.stem + ".int8.onnx")
    if beside.exists() or os.access(fp32_path.parent, os.W_OK):
        return beside
    return cache_dir() / "onnx-int8" / f"{fp32_path.parent.name}-{beside.name}"


def ensure_int8_decoder(fp32_path: Path) -> Path:
    """Quantise ``fp32_path`` (weights to int8, dynamic activations) unless done already."""
    target = int8_path_for(fp32_path)
    if target.exists():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            quantize_dynamic(str(fp32_path), str(staging), weight_type=QuantType.QInt8)
        os.replace(staging, target)
    except Exception as error:  # the quantiser raises many types
        staging.unlink(missing_ok=True)
        raise InferenceError(f"could not quantise {fp32_path}: {error}", fp32_path) from None
    return target
