"""Measuring one way of running a model (a :class:`Candidate`): build, gate, time.

:func:`measure_candidate` is what calibration runs for every candidate, normally in a child
process (:mod:`samlabel.inference.isolated`), so that a crash inside a runtime's kernels costs
that candidate only. Everything it takes and returns is plain data, to cross that boundary.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from samlabel.core.errors import InferenceError
from samlabel.inference.api import ImageEmbedding, Predictor
from samlabel.inference.onnx_folder import OnnxModelFolder
from samlabel.inference.precision_gate import (
    EMBEDDING_TOLERANCE,
    GATE_PROMPTS,
    ReferenceOutputs,
    check_candidate,
    gate_image,
    reference_outputs,
)

#: Clicks a user makes per image, on average, to weigh decode time against encode time.
CLICKS_PER_IMAGE = 10
#: Timed decodes per candidate (the gate prompts, cycled).
DECODE_RUNS = 10
#: A warm-up encode slower than this (seconds) counts as the timed encode.
WARM_UP_IS_TIMING_S = 3.0

BACKEND_TITLES = {"onnxruntime": "ONNX Runtime", "openvino": "OpenVINO", "torch": "torch"}

Builder = Callable[[OnnxModelFolder, "Candidate", "int | None"], Predictor]


@dataclass(frozen=True)
class Candidate:
    """One way to run the model: backend, precision and device (OpenVINO's device names)."""

    backend: str
    precision: str = "fp32"
    device: str = "CPU"
    #: The per-click decoders' precision where it differs from the encoder's ("" = same).
    decoder_precision: str = ""

    def label(self) -> str:
        """For people: ``"OpenVINO bf16 on CPU"``, ``"OpenVINO bf16 on CPU, decoder fp32"``."""
        title = BACKEND_TITLES.get(self.backend, self.backend)
        line = f"{title} {self.precision} on {self.device}"
        return f"{line}, decoder {self.decoder_precision}" if self.decoder_precision else line


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


def make_predictor(folder: OnnxModelFolder, candidate: Candidate, threads: int | None) -> Predictor:
    """A predictor for ``candidate`` on ``folder``."""
    if candidate.backend == "openvino":
        from samlabel.inference.openvino_backend import OpenVinoPredictor

        return OpenVinoPredictor(
            folder,
            candidate.device,
            candidate.precision,
            threads,
            decoder_precision=candidate.decoder_precision or None,
        )
    from samlabel.inference.onnx_backend import OnnxPredictor

    return OnnxPredictor(folder, threads=threads)


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


def measure_candidate(
    folder: OnnxModelFolder,
    candidate: Candidate,
    threads: int | None,
    reference: ReferenceOutputs | None,
    build: Builder | None = None,
) -> tuple[Measurement, ReferenceOutputs | None]:
    """Build ``candidate``, encode the gate image (the warm-up), judge it, time it.

    Args:
        folder: the exported model.
        candidate: how to run it.
        threads: CPU threads (None: all).
        reference: the fp32 reference's outputs; None when ``candidate`` is the reference
            (ONNX Runtime fp32), whose outputs are then computed and returned.
        build: makes the predictor (default :func:`make_predictor`; tests pass faulty ones).

    Returns:
        ``(measurement, reference outputs or None)``.

    Raises:
        InferenceError: the reference itself gives NaN or infinite values.
        Exception: whatever building or running the candidate raises.
    """
    build = build or make_predictor
    measurement = Measurement(candidate)
    predictor = build(folder, candidate, threads)
    image = gate_image()
    start = time.perf_counter()
    embedding = predictor.encode(image)  # the warm-up, also judged by the gate
    warm_up_s = time.perf_counter() - start
    computed = None
    if reference is None:
        if not np.isfinite(embedding.features).all():
            raise InferenceError(f"{candidate.label()} computes NaN or infinite embeddings")
        computed = reference_outputs(predictor, image, embedding)
        measurement.passed = True
    else:
        verdict = check_candidate(reference, predictor, embedding)
        measurement.embedding_error = verdict.embedding_error
        measurement.mask_agreement = verdict.mask_agreement
        measurement.passed = verdict.passed
        measurement.note = verdict.reason
    if measurement.passed:
        _measure(predictor, image, measurement, embedding, warm_up_s)
    return measurement, computed


def measure_in_child(
    folder_root: str,
    candidate: Candidate,
    threads: int | None,
    reference: ReferenceOutputs | None,
    build: Builder | None,
    settings: dict[str, float],
) -> tuple[Measurement, ReferenceOutputs | None]:
    """:func:`measure_candidate` in the measuring child: reopen the folder, apply settings.

    ``settings``: this module's ``DECODE_RUNS`` and ``WARM_UP_IS_TIMING_S`` as the parent has
    them (the child imports the module afresh).
    """
    from samlabel.inference.onnx_folder import open_onnx_folder

    globals().update({k: v for k, v in settings.items() if k in _SETTINGS})
    folder = open_onnx_folder(Path(folder_root), check=False)
    return measure_candidate(folder, candidate, threads, reference, build)


_SETTINGS = ("DECODE_RUNS", "WARM_UP_IS_TIMING_S")


def current_settings() -> dict[str, float]:
    """The settings :func:`measure_in_child` passes on."""
    return {name: globals()[name] for name in _SETTINGS}


#: How a refusal for a slow decoder starts.
SLOW_DECODER = "its decoder takes "


def slower_than_fp32(
    measurement: Measurement, measurements: list[Measurement], limit: float
) -> str:
    """Why a reduced precision is refused for slow clicks ("" when it is not).

    Slow: its decoder is more than ``limit`` times slower than the fastest fp32 decoder.
    """
    fp32 = [
        m.decode_ms
        for m in measurements
        if m.candidate.precision == "fp32" and m.passed and m.decode_ms is not None
    ]
    if measurement.candidate.precision == "fp32" or measurement.decode_ms is None or not fp32:
        return ""
    if measurement.decode_ms <= limit * min(fp32):
        return ""
    return (
        f"{SLOW_DECODER}{measurement.decode_ms:.0f} ms a click against {min(fp32):.0f} ms in fp32"
    )


def reduced_encoder_fp32_decoder(measurements: list[Measurement]) -> list[Measurement]:
    """A reduced-precision encoder with the same device's fp32 decoders, from what was timed.

    Where a bf16 (fp16) encoder passed the gate, pairing it with the fp32 decoders keeps its
    faster encode without the risk of slow or less exact clicks; both halves were measured
    already (encode in the reduced precision, decode in fp32), so this costs no measuring.
    """
    fp32 = {
        (m.candidate.backend, m.candidate.device): m
        for m in measurements
        if m.candidate.precision == "fp32" and m.passed and m.decode_ms is not None
    }
    paired = []
    for m in measurements:
        c = m.candidate
        decoder = fp32.get((c.backend, c.device))
        if c.precision == "fp32" or c.decoder_precision or m.encode_s is None or decoder is None:
            continue
        embedding_ok = m.embedding_error is not None and m.embedding_error <= EMBEDDING_TOLERANCE
        paired.append(
            Measurement(
                Candidate(c.backend, c.precision, c.device, decoder_precision="fp32"),
                encode_s=m.encode_s,
                decode_ms=decoder.decode_ms,
                embedding_error=m.embedding_error,
                mask_agreement=m.mask_agreement,
                passed=embedding_ok and (m.passed or m.note.startswith(SLOW_DECODER)),
                note=f"encode timed as {c.precision}, clicks as fp32",
            )
        )
    return paired
