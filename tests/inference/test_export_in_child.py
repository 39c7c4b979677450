"""The first export runs in a child process: a crash of the exporter is a message."""

from __future__ import annotations

import pytest

from samlabel.core.errors import InferenceError
from samlabel.inference import export_in_child, load_predictor
from tests.inference import faulty_candidates
from tests.inference.tiny_models import write_tiny_checkpoint


def test_a_crashing_exporter_is_a_message_and_leaves_no_half_folder(
    tmp_path, monkeypatch, onnx_export_root
):
    checkpoint = write_tiny_checkpoint(tmp_path / "crashes.pth", seed=11)
    monkeypatch.setattr(export_in_child, "_CHILD_TARGET", faulty_candidates.crash_export)
    progress = []
    with pytest.raises(InferenceError, match=r"crashes\.pth .*crashed \(SIGSEGV\)"):
        load_predictor(checkpoint, backend="onnxruntime", progress=lambda m, f: progress.append(m))
    assert "Loading the model" in progress  # the child's progress reached the caller
    assert not list(onnx_export_root.glob(".staging-*"))


def test_the_export_in_a_child_gives_a_working_model_and_is_reused(tmp_path):
    checkpoint = write_tiny_checkpoint(tmp_path / "fine.pth", seed=12)
    fractions = []
    first = load_predictor(
        checkpoint, backend="onnxruntime", progress=lambda m, f: fractions.append(f)
    )
    assert fractions[-1] == 1.0 and max(f for f in fractions if f < 1.0) > 0.0
    again = []
    second = load_predictor(
        checkpoint, backend="onnxruntime", progress=lambda m, f: again.append(f)
    )
    assert second.folder.root == first.folder.root
    assert again == [0.0, 1.0]  # read from the cache: no child, no export


def test_a_script_without_a_main_guard_can_load_a_new_checkpoint(tmp_path):
    """The child must not re-run the caller's script (``spawn`` would, by default)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    checkpoint = write_tiny_checkpoint(tmp_path / "script.pth", seed=13)
    script = tmp_path / "label.py"
    script.write_text(
        "from samlabel.inference import load_predictor\n"
        f"predictor = load_predictor({str(checkpoint)!r}, backend='onnxruntime')\n"
        "print('loaded', predictor.model_name)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "SAMLABEL_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("loaded") == 1


def test_models_import_survives_a_crashing_exporter(tmp_path, monkeypatch, capsys):
    """``samlabel models import`` exports in a child: a SIGSEGV there is a message and an
    exit code, the checkpoint stays imported, and the command's own process goes on."""
    from samlabel.cli import main

    checkpoint = write_tiny_checkpoint(tmp_path / "crashy.pth", seed=14)
    monkeypatch.setattr(export_in_child, "_CHILD_TARGET", faulty_candidates.crash_export)
    monkeypatch.setenv("SAMLABEL_CACHE_DIR", str(tmp_path / "cache"))
    models = tmp_path / "models"

    code = main(["models", "import", str(checkpoint), "--models-dir", str(models)])

    err = capsys.readouterr().err
    assert code == 1
    assert "crashed (SIGSEGV)" in err and "imported" in err
    assert (models / "crashy.pth").read_bytes() == checkpoint.read_bytes()
