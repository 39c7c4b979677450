"""Which models can propagate, and the one sentence saying why a model cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from samlabel.core.errors import CheckpointError, InferenceError
from tests.qt.fakes import FakePredictor


class Sam2Folder(FakePredictor):
    """A SAM 2 model opened from an exported folder (no checkpoint to read memory from)."""

    family = "sam2"
    model_name = "SAM 2.1 Hiera-T"


def test_a_sam1_model_cannot_propagate_and_says_so() -> None:
    predictor = FakePredictor()
    assert predictor.propagation_unavailable() == (
        "Propagation needs a SAM 2 model; Fake SAM is not one."
    )
    with pytest.raises(InferenceError, match="needs a SAM 2 model"):
        predictor.propagation_engine(3, (24, 32), lambda frame: None)


def test_a_sam2_folder_needs_its_checkpoint(tmp_path: Path) -> None:
    predictor = Sam2Folder()
    reason = predictor.propagation_unavailable()
    assert "checkpoint file" in reason and "exported folder" in reason and "\n" not in reason
    predictor.source_checkpoint = str(tmp_path / "gone.pt")
    assert predictor.propagation_unavailable() is None
    with pytest.raises(CheckpointError, match="gone.pt: the SAM 2 checkpoint cannot be read"):
        predictor.propagation_engine(3, (24, 32), lambda frame: None)


def test_a_build_without_torch_cannot_propagate(monkeypatch) -> None:
    import samlabel.inference.loader as loader

    predictor = Sam2Folder()
    predictor.source_checkpoint = "sam2.1_hiera_tiny.pt"
    monkeypatch.setattr(loader, "torch_available", lambda: False)
    assert "PyTorch" in predictor.propagation_unavailable()
