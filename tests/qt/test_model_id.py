"""Embeddings are cached per model and per precision."""

from __future__ import annotations

from types import SimpleNamespace

from samlabel.qt.model_commands import model_id


def test_a_reduced_precision_gets_its_own_cached_embeddings(tmp_path):
    checkpoint = tmp_path / "model.pth"
    checkpoint.write_bytes(b"weights")
    fp32 = model_id(checkpoint, SimpleNamespace(precision="fp32"))
    assert fp32 == model_id(checkpoint, SimpleNamespace())  # backends without precisions
    assert model_id(checkpoint, SimpleNamespace(precision="bf16")) != fp32
    checkpoint.write_bytes(b"other weights")
    assert model_id(checkpoint) != fp32


def test_the_window_names_a_model_as_samlabel_embed_does(tmp_path):
    """Embeddings written by ``samlabel embed`` on another machine (other paths) are found."""
    from samlabel.inference import model_key

    here = tmp_path / "here" / "model.pth"
    elsewhere = tmp_path / "elsewhere" / "sam.pth"
    for path in (here, elsewhere):
        path.parent.mkdir()
        path.write_bytes(b"the same weights")
    assert model_id(here, SimpleNamespace(precision="fp32")) == model_key(elsewhere)
    assert model_id(here, SimpleNamespace(precision="bf16")) == model_key(elsewhere, "bf16")
