"""An optional backend: the exported ONNX graphs compiled by OpenVINO (CPU, Intel GPU, NPU).

OpenVINO is an optional extra (``pip install samlabel[openvino]``); nothing here imports it at
module level, so ``auto`` works without it. It reads the same ONNX folder as ONNX Runtime and
keeps its compiled models in ``cache_dir()/openvino`` (OpenVINO's ``CACHE_DIR``), so only the
first start on a machine pays for compiling.

Precisions (``INFERENCE_PRECISION_HINT``): ``fp32`` everywhere; ``bf16`` on CPUs that report
``BF16`` among their ``OPTIMIZATION_CAPABILITIES`` (AVX-512 BF16 / AMX); ``fp16`` on devices
that report ``FP16`` (Intel GPUs, NPUs, some CPUs). fp32 is always set explicitly, because
OpenVINO's CPU plugin would otherwise choose bf16 by itself on processors with AMX.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import numpy as np

from samlabel.core.errors import InferenceError
from samlabel.core.paths import cache_dir
from samlabel.inference.onnx_backend import OnnxPredictor
from samlabel.inference.onnx_folder import OnnxModelFolder

#: Our precision names -> OpenVINO's element type names for INFERENCE_PRECISION_HINT.
PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}
#: OPTIMIZATION_CAPABILITIES entry a device must report for a reduced precision.
PRECISION_CAPABILITY = {"bf16": "BF16", "fp16": "FP16"}


def openvino_available() -> bool:
    """True when the ``openvino`` package can be imported (the optional extra is installed)."""
    try:
        import openvino  # noqa: F401
    except Exception:  # a broken install must not stop ONNX Runtime from working
        return False
    return True


def openvino_version() -> str | None:
    """OpenVINO's version string, or None when it is not installed."""
    if not openvino_available():
        return None
    import openvino

    return str(openvino.__version__)


def compile_cache_dir() -> Path:
    """Where OpenVINO keeps compiled models (rebuilt when missing)."""
    return cache_dir() / "openvino"


@cache
def _core():
    import openvino as ov

    return ov.Core()


def available_devices() -> list[str]:
    """Devices OpenVINO reports here, for example ``["CPU", "GPU", "NPU"]`` (empty without it)."""
    if not openvino_available():
        return []
    try:
        return list(_core().available_devices)
    except Exception:  # a broken GPU driver must not hide the CPU
        return ["CPU"]


def device_precisions(device: str = "CPU") -> list[str]:
    """Precisions ``device`` computes natively: always ``fp32``, plus bf16 / fp16 if reported."""
    try:
        capabilities = set(_core().get_property(device, "OPTIMIZATION_CAPABILITIES"))
    except Exception:
        capabilities = set()
    precisions = ["fp32"]
    precisions += [p for p, cap in PRECISION_CAPABILITY.items() if cap in capabilities]
    if device.startswith("NPU"):
        precisions = ["fp16"]  # NPUs compute in fp16 whatever the hint says
    return precisions


def device_name(device: str = "CPU") -> str:
    """The device in words, for example ``"Intel(R) Xeon(R) Platinum 8480+"``."""
    try:
        return str(_core().get_property(device, "FULL_DEVICE_NAME"))
    except Exception:
        return device


class _CompiledGraph:
    """One compiled graph with ONNX Runtime's ``run(None, feeds)`` calling convention.

    An InferRequest is not thread-safe; one request per graph behind a lock is enough, since
    the encoder and the decoders are separate graphs (the background encoder never waits on a
    click). Outputs are copied: the request reuses its output buffers.
    """

    def __init__(self, compiled) -> None:
        self._compiled = compiled
        self._request = compiled.create_infer_request()
        self._lock = threading.Lock()

    def run(self, output_names, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        del output_names  # always all outputs, in graph order, as the callers expect
        with self._lock:
            self._request.infer({name: np.ascontiguousarray(v) for name, v in feeds.items()})
            return [
                np.array(self._request.get_output_tensor(i).data, dtype=np.float32, copy=True)
                for i in range(len(self._compiled.outputs))
            ]


def _compile(path: Path, device: str, precision: str, threads: int | None) -> _CompiledGraph:
    config: dict[str, str] = {
        "INFERENCE_PRECISION_HINT": PRECISION_HINTS[precision],
        "PERFORMANCE_HINT": "LATENCY",
    }
    if threads and device.startswith("CPU"):
        config["INFERENCE_NUM_THREADS"] = str(threads)
    folder = compile_cache_dir()
    try:  # read at every compile, so the cache follows cache_dir() (tests, portable installs)
        folder.mkdir(parents=True, exist_ok=True)
        config["CACHE_DIR"] = str(folder)
    except OSError:  # a read-only cache only costs compiling at every start
        pass
    try:
        return _CompiledGraph(_core().compile_model(str(path), device, config))
    except Exception as error:  # OpenVINO raises RuntimeError with the plugin's message
        raise InferenceError(
            f"OpenVINO could not compile {path} for {device} ({precision}): {error}", path
        ) from None


class OpenVinoPredictor(OnnxPredictor):
    """SAM's exported graphs in OpenVINO; same prompt handling and split decoder as ONNX Runtime.

    The encoder runs on ``device``; the per-click decoders run there too, except on an NPU,
    which needs static shapes (the number of prompt points varies), so they stay on the CPU.
    """

    backend = "openvino"

    def __init__(
        self,
        folder: OnnxModelFolder,
        device: str = "CPU",
        precision: str = "fp32",
        threads: int | None = None,
        decoder_precision: str | None = None,
    ) -> None:
        """Compile the graphs of ``folder``.

        Args:
            folder: a checked folder of exported ONNX files.
            device: an OpenVINO device name from :func:`available_devices` (``"CPU"``,
                ``"GPU"``, ``"GPU.1"``, ``"NPU"``).
            precision: ``"fp32"``, ``"bf16"`` or ``"fp16"``; must be in
                :func:`device_precisions` for ``device``.
            threads: CPU threads (default: OpenVINO's choice, all cores).
            decoder_precision: the per-click decoders' precision when it should differ from
                the encoder's (``"fp32"``: a reduced-precision encoder with exact, and where a
                reduced-precision decoder is slow, faster clicks); default: ``precision``
                where the decoders' device computes it, else fp32.

        Raises:
            InferenceError: OpenVINO is missing, the device or precision is not available
                here, or a graph does not compile.
        """
        if not openvino_available():
            raise InferenceError(
                "the OpenVINO backend needs the openvino package: pip install 'samlabel[openvino]'."
            )
        device = device.upper()
        if precision not in PRECISION_HINTS:
            raise InferenceError(
                f"unknown precision {precision!r}; choose one of {', '.join(PRECISION_HINTS)}."
            )
        devices = available_devices()
        if device not in devices and device.split(".")[0] not in devices:
            raise InferenceError(
                f"OpenVINO has no device {device!r} here (available: {', '.join(devices)})."
            )
        supported = device_precisions(device)
        if precision not in supported:
            raise InferenceError(
                f"{device_name(device)} ({device}) does not compute in {precision} "
                f"(it supports {', '.join(supported)})."
            )
        threads = threads or int(os.environ.get("SAMLABEL_THREADS", "0")) or None
        self.folder = folder
        self.model_name = folder.model_name
        self.model_id = folder.model_id
        self.precision = precision
        self.ov_device = device
        self.device = device.lower()
        decoder_device = "CPU" if device.startswith("NPU") else device
        if decoder_precision is None:
            supported = device_precisions(decoder_device)
            decoder_precision = precision if precision in supported else "fp32"
        elif decoder_precision not in PRECISION_HINTS:
            raise InferenceError(f"unknown decoder precision {decoder_precision!r}.")
        self.decoder_precision = decoder_precision

        def decoder(role: str) -> _CompiledGraph:
            return _compile(folder.files[role], decoder_device, decoder_precision, threads)

        self._encoder = _compile(folder.files["encoder"], device, precision, threads)
        self._decoder = decoder("decoder")
        self._decoder_image = None
        self._decoder_prompt = None
        if "decoder_image" in folder.files and "decoder_prompt" in folder.files:
            self._decoder_image = decoder("decoder_image")
            self._decoder_prompt = decoder("decoder_prompt")

    def _open_batch_graph(self, path):
        """The batch decoder compiled like the per-click one (on the CPU beside an NPU)."""
        device = "CPU" if self.ov_device.startswith("NPU") else self.ov_device
        precision = self.precision if self.precision in device_precisions(device) else "fp32"
        return _compile(path, device, precision, None)

    def describe(self) -> str:
        """One line for the status bar, e.g. ``SAM ViT-B · OpenVINO bf16 on CPU``."""
        name = self.model_name or "model"
        line = f"{name} · OpenVINO {self.precision} on {self.ov_device}"
        if self.decoder_precision != self.precision:
            line += f", decoder {self.decoder_precision}"
        return f"{line} ({self.selection})" if self.selection else line
