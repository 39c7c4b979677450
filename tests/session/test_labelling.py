"""One click to the COCO file, queued accepts and undo, driven without Qt or an event loop."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from samlabel.session.work import DecodeRequest, MaskRequest
from tests.qt.fakes import FakePredictor
from tests.session.helpers import PriorPredictor, Recorder, make_session, opened


def _disk(shape: tuple[int, int], x: float, y: float, radius: float) -> np.ndarray:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (xs + 0.5 - x) ** 2 + (ys + 0.5 - y) ** 2 < radius**2


def test_a_click_is_decoded_accepted_added_and_saved_as_coco(image_folder: Path) -> None:
    predictor = FakePredictor()
    session, runner = opened(image_folder, predictor)
    assert session.image.status == "ready" and session.image.source.size == (120, 160)
    events = Recorder(session)

    session.add_point(60, 50, 1)
    # The click is there at once; its mask is a request the runner has not run yet.
    assert session.prompts.points == ((60.0, 50.0, 1),) and session.prompts.prediction is None
    assert [type(r) for r in runner.pending()] == [DecodeRequest]
    assert events.names() == ["prompts_changed"]

    runner.run()
    prediction = session.prompts.prediction
    assert prediction is not None and session.prompts.selected == prediction.best_index() == 1
    assert events.names()[-1] == "prompts_changed"

    session.choose_candidate(2)
    assert session.accept() is not None
    # Prompts go at once; the annotation arrives with the full-size mask from the runner.
    assert session.prompts.is_empty() and not session.document.annotations
    assert [type(r) for r in runner.pending()] == [MaskRequest]
    assert not session.is_saved()
    events.clear()
    runner.run()
    (annotation,) = session.document.annotations
    assert events.names().count("document_changed") == 1  # once per accept
    assert session.edits.selected_annotation == annotation.id
    expected = prediction.full_mask(2)
    np.testing.assert_array_equal(annotation.rle.decode(), expected)
    assert session.store.is_saved() is False  # a save is due: the file lags behind

    assert session.store.save()
    coco = json.loads((image_folder / "annotations.json").read_text("utf-8"))
    (saved,) = coco["annotations"]
    assert saved["image_id"] == session.image_id and saved["samlabel_score"] == np.float32(0.74)
    assert coco["categories"][0]["name"] == "object"
    assert session.is_saved()
    session.shutdown()


def test_a_burst_of_clicks_decodes_the_first_and_the_newest_only(image_folder: Path) -> None:
    predictor = FakePredictor()
    session, runner = opened(image_folder, predictor)
    calls = predictor.decode_calls
    clicks = [(30, 30, 1), (60, 40, 1), (90, 50, 1), (120, 60, 0)]
    for x, y, label in clicks:
        session.add_point(x, y, label)
    assert len([r for r in runner.pending() if isinstance(r, DecodeRequest)]) == 1
    runner.run()
    # The first click was in flight; the three after it wait, and only the newest runs.
    assert predictor.decode_calls - calls == 2
    assert predictor.decoded_points[-2:] == [((30.0, 30.0, 1),), tuple(map(tuple, clicks))]
    assert session.prompts.shown_step() is session.prompts.current
    assert session.is_idle()


def test_a_refining_click_feeds_back_the_selected_mask(image_folder: Path) -> None:
    predictor = PriorPredictor()
    session, runner = opened(image_folder, predictor)
    session.add_point(40, 40, 1)
    runner.run()
    session.choose_candidate(2)
    first = session.prompts.prediction
    session.add_point(120, 80, 1)
    runner.run()
    np.testing.assert_array_equal(predictor.mask_inputs[-1], first.low_res_logits[2])
    # The fed-back mask is kept: the small candidate now holds the first click's large disk.
    refined = session.prompts.prediction.full_mask(0)
    assert refined[40, 40 + 20] and refined[80, 120]
    session.set_box(5, 5, 50, 40)
    runner.run()
    assert predictor.mask_inputs[-1] is None  # a box starts afresh


def test_prompts_before_the_embedding_wait_for_it(image_folder: Path) -> None:
    predictor = FakePredictor()
    session, runner = make_session(predictor)
    session.open_folder(image_folder)
    assert session.image.status == "encoding" and session.image.embedding is None
    session.add_point(30, 30, 1)
    session.add_point(60, 30, 1)
    assert not any(isinstance(r, DecodeRequest) for r in runner.pending())
    assert session.accept() is None  # nothing to accept on until the embedding is there
    runner.run()
    assert session.image.embedding is not None
    assert predictor.decoded_points[-1] == ((30.0, 30.0, 1), (60.0, 30.0, 1))


def test_an_accept_before_the_mask_is_queued_and_survives_an_image_switch(
    image_folder: Path,
) -> None:
    session, runner = opened(image_folder, FakePredictor())
    first_image = session.image_id
    session.add_point(80, 60, 1)
    job = session.accept()
    assert job is not None and session.prompts.is_empty() and not session.is_idle()
    session.go_to(1)
    session.add_point(20, 20, 1)  # the new image's prompts wait behind the accept
    runner.run()
    (annotation,) = session.document.annotations
    assert annotation.image_id == first_image
    # Landed after the switch: the new image's selection is left alone.
    assert session.edits.selected_annotation is None
    # The best candidate (index 1: radius 0.12 * 120) was accepted, in whole-image pixels.
    mask = annotation.rle.decode()
    np.testing.assert_array_equal(mask, _disk((120, 160), 80, 60, 14.4) | mask)
    assert mask.sum() < _disk((120, 160), 80, 60, 24.5).sum()
    assert session.prompts.prediction is not None  # the second image's click was decoded
    session.shutdown()


def test_closing_the_folder_adds_accepts_still_on_their_way(image_folder: Path) -> None:
    session, runner = opened(image_folder, FakePredictor())
    session.add_point(80, 60, 1)
    session.accept()  # queued for its decode
    runner.run()
    session.add_point(30, 30, 1)
    runner.run()
    session.accept()  # decoded: waits for its mask
    assert not session.is_idle()
    session.close_folder()  # the runner never answers these: they are made here
    coco = json.loads((image_folder / "annotations.json").read_text("utf-8"))
    assert len(coco["annotations"]) == 2


def test_undo_takes_back_prompts_then_accepts(image_folder: Path) -> None:
    predictor = FakePredictor()
    session, runner = opened(image_folder, predictor)
    session.add_point(40, 40, 1)
    runner.run()
    first = session.prompts.prediction
    session.add_point(100, 80, 1)
    runner.run()
    calls = predictor.decode_calls
    session.undo()
    # The earlier mask is back at once, without decoding again.
    assert session.prompts.prediction is first and predictor.decode_calls == calls
    session.accept()
    runner.run()
    assert len(session.document.annotations) == 1
    session.undo()  # no prompts left: the accept is undone
    assert not session.document.annotations
    session.redo()
    assert len(session.document.annotations) == 1


def test_an_empty_mask_is_refused_and_its_prompts_stay(image_folder: Path) -> None:
    session, runner = opened(image_folder, FakePredictor())
    events = Recorder(session)
    session.add_point(40, 40, 0)  # only an exclude point: every candidate is empty
    runner.run()
    assert session.accept() is None
    assert ("message", "warning", "The mask is empty: add an include point.") in events.seen
    assert session.prompts.points == ((40.0, 40.0, 0),) and not session.document.annotations
