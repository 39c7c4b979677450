"""Candidates that fail the way native code fails, for the calibration tests.

Importable by the measuring child process (a module-level builder, plain data): the device
name of a :class:`Candidate` says how it fails. Each build is noted in the file named by
``$SAMLABEL_TEST_CANDIDATE_TRIES`` (one device per line), so a test can see what was tried.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np

from samlabel.inference.calibration import Candidate, make_predictor
from samlabel.inference.onnx_backend import OnnxPredictor

TRIES_ENV = "SAMLABEL_TEST_CANDIDATE_TRIES"

SEGFAULT = Candidate("onnxruntime", "fp32", "SEGFAULT")  # dies by SIGSEGV while encoding
HANG = Candidate("onnxruntime", "fp32", "HANG")  # never returns from encoding
NAN_EMBEDDING = Candidate("onnxruntime", "fp32", "NAN")  # encodes to NaN
NAN_DECODER = Candidate("onnxruntime", "fp32", "NANDECODER")  # decodes to NaN logits
HEALTHY = Candidate("onnxruntime", "fp32", "HEALTHY")  # plain ONNX Runtime under another name


def build(folder, candidate: Candidate, threads):
    """A predictor for ``candidate``: the real one, or ONNX Runtime made to fail."""
    path = os.environ.get(TRIES_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(candidate.device + "\n")
    if candidate.device not in ("SEGFAULT", "HANG", "NAN", "NANDECODER"):
        return make_predictor(folder, candidate, threads)  # HEALTHY: ONNX Runtime itself
    predictor = OnnxPredictor(folder, threads=threads)
    encode, decode = predictor.encode, predictor.decode

    def failing_encode(image):
        if candidate.device == "SEGFAULT":
            os.kill(os.getpid(), signal.SIGSEGV)
        if candidate.device == "HANG":
            time.sleep(3600)
        embedding = encode(image)
        if candidate.device == "NAN":
            embedding.features[...] = np.nan
        return embedding

    def nan_decode(*args, **kwargs):
        prediction = decode(*args, **kwargs)
        prediction.low_res_logits[...] = np.nan
        prediction.scores[...] = np.nan
        return prediction

    predictor.encode = failing_encode
    if candidate.device == "NANDECODER":
        predictor.decode = nan_decode
    return predictor


def crash_on_build(folder, candidate: Candidate, threads):
    """Dies by SIGSEGV for every candidate, the reference included."""
    os.kill(os.getpid(), signal.SIGSEGV)


def crash_export(checkpoint: str, cache_root: str | None, messages) -> None:
    """An exporter that reports progress, leaves a half-written folder, then dies by SIGSEGV."""
    from pathlib import Path

    messages.put(("progress", "Loading the model", 0.05))
    messages.close()
    messages.join_thread()  # sent before dying (the queue writes from a thread)
    if cache_root:
        (Path(cache_root) / f".staging-deadbeef-{os.getpid()}").mkdir(parents=True)
    os.kill(os.getpid(), signal.SIGSEGV)
