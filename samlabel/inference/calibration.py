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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from samlabel.core.errors import InferenceError
from samlabel.core.paths import cache_dir
from samlabel.inference import candidate_measure
from samlabel.inference.candidate_measure import (
    BACKEND_TITLES,
    CLICKS_PER_IMAGE,
    Builder,
    Candidate,
    Measurement,
    make_predictor,
    measure_candidate,
    reduced_encoder_fp32_decoder,
    slower_than_fp32,
)
from samlabel.inference.isolated import ChildFailed, ChildWorker
from samlabel.inference.onnx_folder import OnnxModelFolder

log = logging.getLogger(__name__)

__all__ = [
    "BACKEND_TITLES",
    "CLICKS_PER_IMAGE",
    "Calibration",
    "Candidate",
    "Measurement",
    "calibrate",
    "candidates",
    "load_calibration",
    "make_predictor",
]

#: Bump when the measurement changes meaning, so old results are measured again.
CALIBRATION_VERSION = 2
#: A candidate whose build, gate and timing take longer than this (seconds) is taken as hung.
CANDIDATE_TIME_LIMIT_S = 900.0
#: Measure candidates in a child process (False: in this process, for tests that patch it).
ISOLATE = True
#: A reduced precision whose decoder is this much slower than the fastest fp32 one is refused
#: (clicks must not get slower for a faster encode; its encoder may still be paired with the
#: fp32 decoders).
SLOWER_DECODE_LIMIT = 1.5

ProgressCallback = Callable[[str, float], None]


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


def failures_path(model_id: str, machine: dict[str, object] | None = None) -> Path:
    """Where the candidates that crashed or hung for ``model_id`` on this machine are listed."""
    machine = machine_fingerprint() if machine is None else machine
    return calibration_root() / "failures" / f"{_digest(model_id)}-{_digest(machine)}.json"


def load_failures(model_id: str, machine: dict[str, object] | None = None) -> dict[Candidate, str]:
    """Candidates that crashed or hung here before, with what happened (empty if none)."""
    try:
        data = json.loads(failures_path(model_id, machine).read_text(encoding="utf-8"))
        return {Candidate(**item["candidate"]): str(item["note"]) for item in data}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def remember_failure(
    model_id: str, machine: dict[str, object], candidate: Candidate, note: str
) -> None:
    """Add ``candidate`` to the failures of ``model_id`` here, at once (before calibration ends:
    if the process dies later, the next calibration still skips it)."""
    known = load_failures(model_id, machine)
    known[candidate] = note
    path = failures_path(model_id, machine)
    data = [{"candidate": asdict(c), "note": n} for c, n in known.items()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as error:
        log.warning("could not remember the failure of %s: %s", candidate.label(), error)


class _Runner:
    """Runs :func:`measure_candidate` in a child process (or here when not isolated)."""

    def __init__(self, folder: OnnxModelFolder, threads: int | None, isolate: bool) -> None:
        self.folder, self.threads = folder, threads
        self.worker = ChildWorker() if isolate else None

    def measure(self, candidate: Candidate, reference, build: Builder | None):
        if self.worker is None:
            return measure_candidate(self.folder, candidate, self.threads, reference, build)
        return self.worker.call(
            candidate_measure.measure_in_child,
            str(self.folder.root),
            candidate,
            self.threads,
            reference,
            build,
            candidate_measure.current_settings(),
            time_limit_s=CANDIDATE_TIME_LIMIT_S,
        )

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


def calibrate(
    folder: OnnxModelFolder,
    source: str | Path | None = None,
    threads: int | None = None,
    progress: ProgressCallback | None = None,
    options: list[Candidate] | None = None,
    build: Builder | None = None,
    isolate: bool | None = None,
) -> Calibration:
    """Measure every candidate on ``folder``, pick the fastest that passes the gate, store it.

    Each candidate is measured in a child process: one that crashes it (a segfault in a
    runtime's kernel), runs past :data:`CANDIDATE_TIME_LIMIT_S` or computes NaN is refused,
    and one that crashed or hung is remembered for this model and machine and not tried again.

    Args:
        folder: the exported model.
        source: the checkpoint or folder the user chose (shown by ``samlabel models list``).
        threads: CPU threads for every backend (default: all).
        progress: called with ``(message, fraction)``.
        options: candidates to try (default: :func:`candidates`); ONNX Runtime fp32 is always
            measured first, as the reference of the quality gate.
        build: makes a predictor for a candidate (default ``make_predictor``); measured in the
            child, so it must be a module-level function (tests pass faulty ones).
        isolate: measure in a child process (default :data:`ISOLATE`).

    Raises:
        InferenceError: ONNX Runtime fp32, the reference, cannot run the model.
    """
    machine = machine_fingerprint()
    options = [c for c in (options or candidates()) if c != Candidate("onnxruntime")]
    options.insert(0, Candidate("onnxruntime"))
    failed_before = load_failures(folder.model_id, machine)
    measurements: list[Measurement] = []
    reference = None
    runner = _Runner(folder, threads, ISOLATE if isolate is None else isolate)
    try:
        for index, candidate in enumerate(options):
            if candidate in failed_before and reference is not None:
                note = f"{failed_before[candidate]}; not tried again"
                measurements.append(Measurement(candidate, note=note))
                continue
            if progress:
                progress(f"Measuring {candidate.label()} (once per model)", index / len(options))
            try:
                measurement, computed = runner.measure(candidate, reference, build)
            except ChildFailed as failure:
                measurement = _failed(candidate, failure.reason, reference)
                if failure.crashed:
                    remember_failure(folder.model_id, machine, candidate, measurement.note)
            except Exception as error:  # in-process: a candidate that fails is just not chosen
                measurement = _failed(candidate, f"failed: {error}", reference)
            if reference is None:
                reference = computed
            slow = slower_than_fp32(measurement, measurements, SLOWER_DECODE_LIMIT)
            if slow:
                measurement.passed, measurement.note = False, slow
            measurements.append(measurement)
    finally:
        runner.close()
    measurements += reduced_encoder_fp32_decoder(measurements)
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


def _failed(candidate: Candidate, reason: str, reference) -> Measurement:
    """The measurement of a candidate that failed; a failed reference ends calibration."""
    if reference is None:
        raise InferenceError(f"{candidate.label()} cannot run this model: {reason}")
    if not reason.startswith("failed"):
        reason = f"{reason} while being measured"
    return Measurement(candidate, passed=False, note=reason)
