"""A session with the synchronous runner, and a stand-in model that honours ``mask_input``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from samlabel.session import LabellingSession, SyncRunner
from samlabel.session.headless import open_annotation_file
from tests.qt.fakes import FakePredictor


class RecordingPredictor(FakePredictor):
    """:class:`FakePredictor` that remembers the ``mask_input`` of every decode (in order;
    None when there was none) in ``mask_inputs``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.mask_inputs: list[np.ndarray | None] = []

    def decode(self, embedding, points=None, box=None, mask_input=None, multimask=True):
        self.mask_inputs.append(None if mask_input is None else np.array(mask_input))
        return super().decode(embedding, points, box, mask_input, multimask)


class PriorPredictor(RecordingPredictor):
    """A :class:`RecordingPredictor` whose masks keep the fed-back mask: every candidate's
    logits are the larger of its disks' and ``mask_input``'s, so a refining click grows the
    previous mask instead of starting over (as SAM's feedback does on real images)."""

    def decode(self, embedding, points=None, box=None, mask_input=None, multimask=True):
        prediction = super().decode(embedding, points, box, mask_input, multimask)
        if mask_input is not None:
            shape = prediction.low_res_logits.shape[1:]
            prior = np.asarray(mask_input, np.float32).reshape(1, *shape)
            prediction.low_res_logits[...] = np.maximum(prediction.low_res_logits, prior)
        return prediction


def make_session(predictor=None) -> tuple[LabellingSession, SyncRunner]:
    """A session whose work runs on this thread when ``runner.run()`` is called."""
    runner = SyncRunner()
    session = LabellingSession(runner, open_annotation_file, crop_side=64)
    runner.attach(session)
    if predictor is not None:
        session.set_predictor(predictor, "fake")
    return session, runner


class Recorder:
    """Collects the session's events by name, in order."""

    def __init__(self, session: LabellingSession) -> None:
        self.seen: list[tuple] = []
        events = session.events
        for name in vars(events):
            getattr(events, name).subscribe(lambda *args, n=name: self.seen.append((n, *args)))

    def names(self) -> list[str]:
        return [entry[0] for entry in self.seen]

    def clear(self) -> None:
        self.seen.clear()


def opened(folder: Path, predictor=None) -> tuple[LabellingSession, SyncRunner]:
    """A session on ``folder`` with image 0 read and encoded."""
    session, runner = make_session(predictor)
    session.open_folder(folder)
    runner.run()
    return session, runner


def accept_at(session: LabellingSession, runner: SyncRunner, x: float, y: float) -> None:
    """Click ``(x, y)`` to include it and accept the mask, every answer run."""
    session.add_point(x, y, 1)
    runner.run()
    assert session.accept() is not None
    runner.run()
