"""The prompt stack: decoding, feeding back the previous mask, undo restores the last mask."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from samlabel.qt.prompt_session import PromptSession
from tests.qt.fakes import FakePredictor


class RecordingPredictor(FakePredictor):
    """Remembers the mask_input of every decode."""

    def __init__(self) -> None:
        super().__init__()
        self.mask_inputs: list[np.ndarray | None] = []

    def decode(self, embedding, points=None, box=None, mask_input=None, multimask=True):
        self.mask_inputs.append(mask_input)
        return super().decode(embedding, points, box, mask_input, multimask)


def _embedding(predictor):
    return predictor.encode(np.full((60, 80, 3), 100, np.uint8))


def test_second_point_feeds_back_the_selected_mask_and_a_box_does_not() -> None:
    predictor = RecordingPredictor()
    embedding = _embedding(predictor)
    session = PromptSession()
    session.add_point(20, 20, 1)
    session.decode_pending(predictor, embedding)
    assert predictor.mask_inputs[-1] is None and session.selected == 1
    session.select(2)
    first = session.prediction
    session.add_point(40, 30, 0)
    session.decode_pending(predictor, embedding)
    np.testing.assert_array_equal(predictor.mask_inputs[-1], first.low_res_logits[2])
    session.set_box((5, 5, 50, 40))
    session.decode_pending(predictor, embedding)
    assert predictor.mask_inputs[-1] is None


def test_prompts_before_the_embedding_wait_and_then_decode_once() -> None:
    predictor = RecordingPredictor()
    session = PromptSession()
    session.add_point(10, 10, 1)
    session.add_point(30, 10, 1)
    assert session.prediction is None and session.selected_mask() is None
    session.decode_pending(predictor, _embedding(predictor))
    assert len(predictor.mask_inputs) == 1 and session.selected_mask()[10, 30]
    # Undo reaches an undecoded step: it decodes then (without feedback).
    session.undo()
    assert session.prediction is None
    session.decode_pending(predictor, _embedding(predictor))
    assert session.selected_mask()[10, 10] and not session.selected_mask()[10, 30]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 79), st.integers(0, 59), st.integers(0, 1)),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 6),
)
def test_undo_restores_exactly_the_earlier_mask(points, undos) -> None:
    predictor = FakePredictor()
    embedding = _embedding(predictor)
    session = PromptSession()
    history = []
    for x, y, label in points:
        session.add_point(x, y, label)
        session.decode_pending(predictor, embedding)
        history.append((session.points, session.selected_mask().copy()))
    for _ in range(min(undos, len(points))):
        session.undo()
    remaining = len(points) - min(undos, len(points))
    if remaining == 0:
        assert session.is_empty() and session.selected_mask() is None
    else:
        expected_points, expected_mask = history[remaining - 1]
        assert session.points == expected_points
        np.testing.assert_array_equal(session.selected_mask(), expected_mask)
