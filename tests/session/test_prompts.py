"""The prompt stack through the session: undo restores exactly the earlier mask, undecoded
steps are decoded when undo reaches them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.qt.fakes import FakePredictor
from tests.session.helpers import RecordingPredictor, make_session, opened


def _selected_mask(session) -> np.ndarray | None:
    step = session.prompts.current
    if step is None or step.prediction is None:
        return None
    return step.prediction.full_mask(step.selected)


def test_undo_reaching_an_undecoded_step_decodes_it_without_feedback(image_folder: Path) -> None:
    predictor = RecordingPredictor()
    session, runner = make_session(predictor)
    session.open_folder(image_folder)
    session.add_point(10, 10, 1)
    session.add_point(30, 10, 1)
    runner.run()  # the embedding arrives; only the newest step is decoded
    # The encoder's one warm-up decode, then one decode of both points.
    assert predictor.decoded_points[1:] == [((10.0, 10.0, 1), (30.0, 10.0, 1))]
    assert _selected_mask(session)[10, 30]
    session.undo()
    assert session.prompts.prediction is None
    runner.run()
    assert predictor.mask_inputs[-1] is None
    mask = _selected_mask(session)
    assert mask[10, 10] and not mask[10, 30]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.integers(0, 159), st.integers(0, 119), st.integers(0, 1)),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 6),
)
def test_undo_restores_exactly_the_earlier_mask(image_folder: Path, points, undos) -> None:
    session, runner = opened(image_folder, FakePredictor())
    history = []
    for x, y, label in points:
        session.add_point(x, y, label)
        runner.run()
        history.append((session.prompts.points, _selected_mask(session).copy()))
    undone = min(undos, len(points))
    for _ in range(undone):
        session.undo()
    remaining = len(points) - undone
    if remaining == 0:
        assert session.prompts.is_empty() and _selected_mask(session) is None
    else:
        expected_points, expected_mask = history[remaining - 1]
        assert session.prompts.points == expected_points
        np.testing.assert_array_equal(_selected_mask(session), expected_mask)
    assert runner.pending() == []  # nothing decoded again
    session.shutdown()
