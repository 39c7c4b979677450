"""The background decoder on its own: latest request wins, answers by signal, failures reported."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QCoreApplication

from samlabel.qt.decode_worker import DecodeWorker
from tests.qt.fakes import FakePredictor


class _GatedPredictor(FakePredictor):
    """Blocks each decode until the test opens the gate, to hold requests in the queue."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.started = threading.Event()

    def decode(self, embedding, points=None, box=None, mask_input=None, multimask=True):
        self.started.set()
        self.gate.wait(10)
        return super().decode(embedding, points, box, mask_input, multimask)


def _embedding(predictor: FakePredictor):
    return predictor.encode(np.zeros((60, 80, 3), np.uint8))


def test_newer_requests_replace_the_waiting_one(qtbot) -> None:
    predictor = _GatedPredictor()
    embedding = _embedding(predictor)
    worker = DecodeWorker(predictor)
    answers: list[tuple[int, object]] = []
    worker.decoded.connect(lambda number, prediction, ms: answers.append((number, prediction)))
    try:
        first = worker.submit(embedding, ((10.0, 10.0, 1),))
        assert predictor.started.wait(5)  # the first decode runs and blocks
        for x in (20.0, 30.0, 40.0):
            last = worker.submit(embedding, ((x, 10.0, 1),), mask_input=np.ones((256, 256)))
        assert worker.is_busy()
        predictor.gate.set()
        qtbot.waitUntil(lambda: len(answers) == 2, timeout=5000)
        assert worker.wait_until_idle(5) and not worker.is_busy()
        QCoreApplication.processEvents()
        # Only the running request and the newest one were decoded.
        assert [number for number, _ in answers] == [first, last]
        assert predictor.decoded_points == [((10.0, 10.0, 1),), ((40.0, 10.0, 1),)]
        expected = predictor.decode(embedding, points=[(40.0, 10.0, 1)])
        np.testing.assert_array_equal(answers[1][1].low_res_logits, expected.low_res_logits)
    finally:
        predictor.gate.set()
        worker.shutdown()
    assert not worker.is_alive()


def test_cancel_drops_the_waiting_request_and_failures_are_reported(qtbot) -> None:
    predictor = _GatedPredictor()
    embedding = _embedding(predictor)
    worker = DecodeWorker(predictor)
    failures: list[tuple[int, str]] = []
    answers: list[int] = []
    worker.failed.connect(lambda number, text: failures.append((number, text)))
    worker.decoded.connect(lambda number, prediction, ms: answers.append(number))
    try:
        first = worker.submit(embedding, ((10.0, 10.0, 1),))
        assert predictor.started.wait(5)
        worker.submit(embedding, ((20.0, 10.0, 1),))
        worker.cancel()
        predictor.gate.set()
        qtbot.waitUntil(lambda: answers == [first], timeout=5000)
        assert worker.wait_until_idle(5)
        assert predictor.decode_calls == 1
        # A decoder error comes back as a message; the thread keeps serving.
        predictor.decode = _raise_value_error
        bad = worker.submit(embedding, ((10.0, 10.0, 1),), mask_input=np.ones((3, 3)))
        qtbot.waitUntil(lambda: bool(failures), timeout=5000)
        assert failures[0][0] == bad and "ValueError: mask_input must be 256x256" in failures[0][1]
        assert worker.is_alive()
    finally:
        predictor.gate.set()
        worker.shutdown()


def _raise_value_error(*args, **kwargs):
    raise ValueError("mask_input must be 256x256")
