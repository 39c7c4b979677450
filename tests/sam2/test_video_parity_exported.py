"""Propagation with frames encoded by the exported SAM 2 encoder (ONNX Runtime, OpenVINO)
against Meta's ``SAM2VideoPredictor``: the scenario of :mod:`tests.sam2.test_video_parity`
(click on frame 0, propagate, correction on frame 5, propagate again), masks agreeing on at
least 99.5% of pixels on every frame. The engine is built as the window builds it
(``samlabel.inference.propagation_engine`` with the predictor ``load_predictor`` returned);
memory encoder and attention run in torch.
"""

from __future__ import annotations

import pytest

from samlabel.inference import load_predictor, propagation_engine
from samlabel.inference.onnx_backend import OnnxPredictor
from samlabel.inference.openvino_backend import openvino_available
from tests.sam2.video_case import check_against_meta, run_scenario
from tests.sam2.video_reference import NUM_FRAMES

pytestmark = pytest.mark.slow


def _forbid_torch_encoder(engine) -> None:
    """Make the video model's own image encoder fail, so a test sees it is not used."""

    def refuse(*args, **kwargs):
        raise AssertionError("the torch image encoder ran; the exported one should have")

    engine.model.image_encoder.forward = refuse


@pytest.fixture(scope="module")
def onnx_predictor(video_case) -> OnnxPredictor:
    return load_predictor(video_case.checkpoint, backend="onnxruntime")


def _run_with(predictor, video_case):
    engine = propagation_engine(video_case.checkpoint, predictor)
    _forbid_torch_encoder(engine)
    frames = video_case.frames
    propagator = engine.propagator(lambda i: frames[i], len(frames), frames[0].shape[:2])
    ours = run_scenario(propagator)
    return engine, propagator, ours


def test_onnxruntime_encoder_matches_meta_on_every_frame(onnx_predictor, video_case):
    engine, propagator, ours = _run_with(onnx_predictor, video_case)
    assert engine.encoder_backend == "onnxruntime"
    assert "encoder onnxruntime, memory torch" in engine.describe()
    check_against_meta(video_case.meta, ours)
    assert propagator.frames.encoded >= NUM_FRAMES  # every frame went through ONNX Runtime


@pytest.mark.skipif(not openvino_available(), reason="OpenVINO is not installed")
def test_openvino_encoder_matches_meta_on_every_frame(onnx_predictor, video_case):
    from samlabel.inference.openvino_backend import OpenVinoPredictor

    predictor = OpenVinoPredictor(onnx_predictor.folder, "CPU", "fp32")
    engine, _, ours = _run_with(predictor, video_case)
    assert engine.encoder_backend == "openvino"
    check_against_meta(video_case.meta, ours)
