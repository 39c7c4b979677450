"""``backend="auto"`` by measurement: time each backend and precision once per model and machine.

On first use of a model on a machine, every candidate (ONNX Runtime fp32; OpenVINO fp32 and the
reduced precisions each OpenVINO device reports) encodes the gate image once as a warm-up, must
pass the quality gate (:mod:`samlabel.inference.precision_gate`) against ONNX Runtime fp32, and
is then timed: one more encode (none for big models, whose slow warm-up is timing enough) and a
few decodes. The cheapest by ``encode + CLICKS_PER_IMAGE x
decode`` wins. The result is kept as JSON under ``cache_dir()/calibration``, keyed by the model
and by the machine (CPU model, core count, ONNX Runtime and OpenVINO versions), so a new
processor or a runtime upgrade measures again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from samlabel.core.paths import cache_dir
from samlabel.inference.api import ImageEmbedding, Predictor
from samlabel.inference.onnx_folder import OnnxModelFolder
from samlabel.inference.precision_gate import (
    GATE_PROMPTS,
    check_candidate,
    gate_image,
    reference_outputs,
)

log = logging.getLogger(__name__)

#: Bump when the measurement changes meaning, so old results are measured again.
CALIBRATION_VERSION = 1
#: Clicks a user makes per image, on average, to weigh decode time against encode time.
CLICKS_PER_IMAGE = 10
#: Timed decodes per candidate (the gate prompts, cycled).
DECODE_RUNS = 10
#: A warm-up encode slower than this (seconds) counts as the timed encode.
WARM_UP_IS_TIMING_S = 3.0

ProgressCallback = Callable[[str, float], None]

BACKEND_TITLES = {"onnxruntime": "ONNX Runtime", "openvino": "OpenVINO", "torch": "torch"}


@dataclass(frozen=True)
class Candidate:
    """One way to run the model: backend, precision and device (OpenVINO's device names)."""

    backend: str
    precision: str = "fp32"
    device: str = "CPU"

    def label(self) -> str:
        """For people: ``"OpenVINO bf16 on CPU"``."""
        return f"{BACKEND_TITLES.get(self.backend, self.backend)} {self.precision} on {self.device}"


@dataclass
class Measurement:
    """What calibration found for one candidate (times None when it was not timed)."""

    candidate: Candidate
    encode_s: float | None = None
    decode_ms: float | None = None
    embedding_error: float | None = None
    mask_agreement: float | None = None
    passed: bool = False
    note: str = ""

    def cost(self) -> float:
        """Seconds per image: one encode plus :data:`CLICKS_PER_IMAGE` decodes."""
        if not self.passed or self.encode_s is None or self.decode_ms is None:
            return float("inf")
        return self.encode_s + CLICKS_PER_IMAGE * self.decode_ms / 1000.0


@dataclass
class Calibration:
    """The stored result for one model on one machine."""

    choice: Candidate
    measurements: list[Measurement]
    model_id: str
    source: str
    machine: dict[str, object] = field(default_factory=dict)
    created: float = 0.0

    def summary(self) -> str:
        """One line per candidate, for logs and ``samlabel bench``."""
        lines = []
        for m in self.measurements:
            if m.encode_s is not None and m.decode_ms is not None:
                timing = f"encode {m.encode_s:.2f} s, decode {m.decode_ms:.1f} ms"
            else:
                timing = "not timed"
            quality = ""
            if m.embedding_error is not None:
                quality = f", embedding error {m.embedding_error:.2%}"
            if m.mask_agreement is not None:
                quality += f", masks agree {m.mask_agreement:.2%}"
            verdict = "chosen" if m.candidate == self.choice else ("ok" if m.passed else "refused")
            note = f" ({m.note})" if m.note else ""
            lines.append(f"{m.candidate.label()}: {timing}{quality}: {verdict}{note}")
        return "\n".join(lines)


def cpu_name() -> str:
    """The processor model, for example ``"AMD EPYC 7763 64-Core Processor"``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_fingerprint() -> dict[str, object]:
    """What makes timings comparable: processor, cores, runtime versions, OpenVINO devices."""
    import onnxruntime

    from samlabel.inference import openvino_backend as ovb

    return {
        "version": CALIBRATION_VERSION,
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "threads": os.environ.get("SAMLABEL_THREADS", ""),
        "onnxruntime": onnxruntime.__version__,
        "openvino": ovb.openvino_version(),
        "openvino_devices": ovb.available_devices(),
    }


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def calibration_root() -> Path:
    return cache_dir() / "calibration"


def calibration_path(model_id: str, machine: dict[str, object] | None = None) -> Path:
    """The JSON file of ``model_id`` on this machine."""
    machine = machine_fingerprint() if machine is None else machine
    return calibration_root() / f"{_digest(model_id)}-{_digest(machine)}.json"


def candidates() -> list[Candidate]:
    """Every way to run an ONNX folder here: ONNX Runtime fp32, then OpenVINO's devices."""
    from samlabel.inference import openvino_backend as ovb

    found = [Candidate("onnxruntime")]
    for device in ovb.available_devices():
        found += [Candidate("openvino", p, device) for p in ovb.device_precisions(device)]
    return found


def make_predictor(folder: OnnxModelFolder, candidate: Candidate, threads: int | None) -> Predictor:
    """A predictor for ``candidate`` on ``folder``."""
    if candidate.backend == "openvino":
        from samlabel.inference.openvino_backend import OpenVinoPredictor

        return OpenVinoPredictor(folder, candidate.device, candidate.precision, threads)
    from samlabel.inference.onnx_backend import OnnxPredictor

    return OnnxPredictor(folder, threads=threads)


def _to_json(calibration: Calibration) -> dict:
    return asdict(calibration)


def _from_json(data: dict) -> Calibration:
    measurements = [
        Measurement(**{**m, "candidate": Candidate(**m["candidate"])}) for m in data["measurements"]
    ]
    return Calibration(
        choice=Candidate(**data["choice"]),
        measurements=measurements,
        model_id=str(data["model_id"]),
        source=str(data.get("source", "")),
        machine=dict(data.get("machine", {})),
        created=float(data.get("created", 0.0)),
    )


def load_calibration(model_id: str) -> Calibration | None:
    """The stored calibration of ``model_id`` on this machine, or None (also when unreadable)."""
    path = calibration_path(model_id)
    try:
        return _from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("ignoring unreadable calibration %s: %s", path, error)
        return None


def save_calibration(calibration: Calibration) -> Path | None:
    """Write atomically; None when the cache folder is not writable (then we measure again)."""
    path = calibration_path(calibration.model_id, calibration.machine or None)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(_to_json(calibration), indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as error:
        log.warning("could not save calibration %s: %s", path, error)
        return None
    return path


def choice_for_source(source: str | Path) -> Candidate | None:
    """The stored choice for a model file or folder on this machine (for ``models list``)."""
    wanted = str(Path(source).resolve())
    machine = _digest(machine_fingerprint())
    with contextlib.suppress(OSError):
        for path in sorted(calibration_root().glob(f"*-{machine}.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("source") == wanted:
                    return Candidate(**data["choice"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
    return None


def _measure(
    predictor: Predictor, image, measurement: Measurement, warm_up: ImageEmbedding, warm_up_s: float
) -> None:
    """Time one encode and :data:`DECODE_RUNS` decodes.

    A slow first encode (big models) is taken as the encode time: its one-off overhead is
    small beside seconds of work, and a second encode would double the wait.
    """
    embedding = warm_up
    measurement.encode_s = warm_up_s
    if warm_up_s < WARM_UP_IS_TIMING_S:
        start = time.perf_counter()
        embedding = predictor.encode(image)
        measurement.encode_s = time.perf_counter() - start
    times = []
    for i in range(DECODE_RUNS):
        points, box, multimask = GATE_PROMPTS[i % len(GATE_PROMPTS)]
        start = time.perf_counter()
        predictor.decode(embedding, points=points, box=box, multimask=multimask)
        times.append(time.perf_counter() - start)
    measurement.decode_ms = statistics.median(times) * 1000.0


def calibrate(
    folder: OnnxModelFolder,
    source: str | Path | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    options: list[Candidate] | None = None,
    build: Callable[[OnnxModelFolder, Candidate, int | None], Predictor] = make_predictor,
) -> Calibration:
    """Measure every candidate on ``folder``, pick the fastest that passes the gate, store it.

    Args:
        folder: the exported model.
        source: the checkpoint or folder the user chose (shown by ``samlabel models list``).
        threads: CPU threads for every backend (default: all).
        progress: called with ``(message, fraction)``.
        options: candidates to try (default: :func:`candidates`); ONNX Runtime fp32 is always
            measured first, as the reference of the quality gate.
        build: makes a predictor for a candidate (tests pass corrupted ones).
    """
    machine = machine_fingerprint()
    options = [c for c in (options or candidates()) if c != Candidate("onnxruntime")]
    options.insert(0, Candidate("onnxruntime"))
    image = gate_image()
    measurements: list[Measurement] = []
    reference = None
    for index, candidate in enumerate(options):
        if progress:
            progress(f"Measuring {candidate.label()} (once per model)", index / len(options))
        measurement = Measurement(candidate)
        measurements.append(measurement)
        predictor = None
        try:
            predictor = build(folder, candidate, threads)
            start = time.perf_counter()
            embedding = predictor.encode(image)  # the warm-up, also judged by the gate
            warm_up_s = time.perf_counter() - start
            if reference is None:  # ONNX Runtime fp32: the reference of the gate
                reference = reference_outputs(predictor, image, embedding)
                measurement.passed = True
            else:
                verdict = check_candidate(reference, predictor, embedding)
                measurement.embedding_error = verdict.embedding_error
                measurement.mask_agreement = verdict.mask_agreement
                measurement.passed = verdict.passed
                measurement.note = verdict.reason
            if measurement.passed:
                _measure(predictor, image, measurement, embedding, warm_up_s)
        except Exception as error:  # a candidate that fails to load or run is just not chosen
            if reference is None:
                raise
            measurement.passed = False
            measurement.note = f"failed: {error}"
        del predictor  # free one candidate's compiled graphs before building the next
    best = min(measurements, key=Measurement.cost)
    calibration = Calibration(
        choice=best.candidate,
        measurements=measurements,
        model_id=folder.model_id,
        source=str(Path(source).resolve()) if source else str(folder.root.resolve()),
        machine=machine,
        created=time.time(),
    )
    save_calibration(calibration)
    if progress:
        progress(f"Chose {best.candidate.label()}", 1.0)
    log.info("calibration of %s:\n%s", folder.model_name, calibration.summary())
    return calibration
