"""ONNX Runtime options per graph: the per-click decoder's threads never spin."""

from __future__ import annotations

import pytest

from samlabel.core.errors import InferenceError
from samlabel.inference import load_predictor
from samlabel.inference.ort_sessions import open_session, session_options
from tests.inference.tiny_models import write_tiny_checkpoint

SPIN = "session.intra_op.allow_spinning"


def test_each_graph_kind_gets_its_spinning_and_threads():
    assert session_options("per_click", None).get_session_config_entry(SPIN) == "0"
    assert session_options("per_image", None).get_session_config_entry(SPIN) == "0"
    assert session_options("encoder", 3).get_session_config_entry(SPIN) == "1"
    assert session_options("encoder", 3).intra_op_num_threads == 3
    with pytest.raises(ValueError, match="unknown graph kind"):
        session_options("decoder", None)


def test_a_file_onnx_runtime_cannot_read_is_an_inference_error(tmp_path):
    bogus = tmp_path / "decoder.onnx"
    bogus.write_bytes(b"not a graph")
    with pytest.raises(InferenceError, match=r"decoder\.onnx"):
        open_session(bogus, None)


def test_the_predictors_sessions_use_the_options_of_their_graph(tmp_path):
    predictor = load_predictor(
        write_tiny_checkpoint(tmp_path / "tiny.pth", seed=3), backend="onnxruntime"
    )

    def spins(session) -> str:
        return session.get_session_options().get_session_config_entry(SPIN)

    assert spins(predictor._encoder) == "1"
    assert spins(predictor._decoder) == "0"
    assert spins(predictor._decoder_prompt) == "0"
    assert spins(predictor._decoder_image) == "0"


def test_per_click_graphs_leave_out_the_slow_bias_gelu_fusion(tmp_path, monkeypatch):
    """The per-click decoder runs without the BiasGelu fusion (its fused kernel is slower than
    ONNX Runtime's own Gelu); a build that does not know that optimiser still loads the graph
    with everything else as before."""
    import onnxruntime as ort

    predictor = load_predictor(
        write_tiny_checkpoint(tmp_path / "tiny.pth", seed=3), backend="onnxruntime"
    )
    path = predictor.folder.files["decoder_prompt"]
    real = ort.InferenceSession
    calls = []

    def recording(*args, **kwargs):
        calls.append(kwargs.get("disabled_optimizers"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", recording)
    open_session(path, None, "per_click")
    open_session(path, None, "encoder")
    assert calls == [("BiasGeluFusion",), None]

    def refusing(*args, **kwargs):
        if kwargs.get("disabled_optimizers"):
            raise RuntimeError("unknown optimizer")
        return real(*args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", refusing)
    session = open_session(path, None, "per_click")
    assert session.get_session_options().get_session_config_entry(SPIN) == "0"
