"""The background lanes on their own: newest wins, order kept, answers on the GUI thread,
failures reported, shutdown lets the running job finish."""

from __future__ import annotations

import threading

import numpy as np

from samlabel.qt.background import Lane
from tests.qt.fakes import FakePredictor


class _GatedPredictor(FakePredictor):
    """Blocks each decode until the test opens the gate, to hold jobs in the queue."""

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


def test_a_newest_wins_lane_runs_the_running_job_and_the_newest_only(qtbot) -> None:
    predictor = _GatedPredictor()
    embedding = _embedding(predictor)
    lane = Lane("test-decoder", newest_wins=True)
    answers: list[tuple[float, object, str]] = []

    def submit(x: float) -> None:
        lane.submit(
            lambda: predictor.decode(embedding, points=[(x, 10.0, 1)]),
            lambda prediction: answers.append((x, prediction, threading.current_thread().name)),
        )

    try:
        submit(10.0)
        assert predictor.started.wait(5)  # the first decode runs and blocks
        for x in (20.0, 30.0, 40.0):
            submit(x)
        assert lane.is_busy()
        predictor.gate.set()
        qtbot.waitUntil(lambda: len(answers) == 2, timeout=5000)
        assert lane.wait_until_idle(5)
        # Only the running job and the newest one ran; answers come on the GUI thread.
        assert [x for x, _, _ in answers] == [10.0, 40.0]
        assert predictor.decoded_points == [((10.0, 10.0, 1),), ((40.0, 10.0, 1),)]
        assert {thread for _, _, thread in answers} == {threading.main_thread().name}
        expected = predictor.decode(embedding, points=[(40.0, 10.0, 1)])
        np.testing.assert_array_equal(answers[1][1].low_res_logits, expected.low_res_logits)
    finally:
        predictor.gate.set()
        lane.shutdown()


def test_cancel_skips_the_waiting_job_and_failures_come_back_as_sentences(qtbot) -> None:
    predictor = _GatedPredictor()
    embedding = _embedding(predictor)
    lane = Lane("test-decoder", newest_wins=True)
    answers: list[str] = []
    failures: list[str] = []
    try:
        first = lambda: predictor.decode(embedding, points=[(1, 1, 1)])  # noqa: E731
        lane.submit(first, lambda _: answers.append("first"))
        assert predictor.started.wait(5)
        second = lambda: predictor.decode(embedding, points=[(2, 2, 1)])  # noqa: E731
        lane.submit(second, lambda _: answers.append("second"))
        lane.cancel_waiting()
        predictor.gate.set()
        qtbot.waitUntil(lambda: answers == ["first"], timeout=5000)
        assert lane.wait_until_idle(5) and predictor.decode_calls == 1
        # A failing job comes back as a message; the lane keeps serving.
        lane.submit(_raise_value_error, answers.append, failures.append)
        qtbot.waitUntil(lambda: bool(failures), timeout=5000)
        assert failures == ["ValueError: mask_input must be 256x256"]
        lane.submit(lambda: "still here", answers.append)
        qtbot.waitUntil(lambda: answers[-1] == "still here", timeout=5000)
    finally:
        predictor.gate.set()
        lane.shutdown()


def test_an_ordered_lane_runs_every_job_in_order(qtbot) -> None:
    lane = Lane("test-masks", newest_wins=False)
    gate = threading.Event()
    done: list[int] = []
    try:
        lane.submit(lambda: gate.wait(5) and 0, done.append)
        for number in range(1, 6):
            lane.submit(lambda n=number: n, done.append)
        gate.set()
        qtbot.waitUntil(lambda: len(done) == 6, timeout=5000)
        assert done == [0, 1, 2, 3, 4, 5]
    finally:
        lane.shutdown()


def test_shutdown_lets_the_running_job_finish_and_drops_the_rest(qtbot) -> None:
    lane = Lane("test-images", newest_wins=False)
    gate, started = threading.Event(), threading.Event()
    ran: list[int] = []
    lane.submit(lambda: (started.set(), gate.wait(5), ran.append(1)), lambda _: None)
    lane.submit(lambda: ran.append(2), lambda _: None)
    assert started.wait(5)
    threading.Timer(0.2, gate.set).start()
    assert lane.shutdown(timeout=5)
    assert ran == [1]
    lane.submit(lambda: ran.append(3), lambda _: None)  # a stopped lane takes nothing
    assert lane.wait_until_idle(1) and ran == [1]


def _raise_value_error():
    raise ValueError("mask_input must be 256x256")
