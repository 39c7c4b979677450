"""``samlabel --selftest``: one line per step, a verdict, exit code 0 only when all pass.

The model is a tiny random SAM exported by ``packaging/tiny_onnx_model.py``, the script CI
uses to give the packaged app a model to test.
"""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import numpy as np
import pytest

from samlabel.cli import main
from samlabel.selftest import run_selftest

ROOT = Path(__file__).resolve().parent.parent
STEPS = ["model", "encode", "decode", "coco", "window"]
pytestmark = [
    pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints"),
    pytest.mark.slow,  # exports a tiny model once, then a few seconds a test
]


def _tiny_model_script():
    spec = importlib.util.spec_from_file_location(
        "samlabel_tiny_onnx_model", ROOT / "packaging" / "tiny_onnx_model.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_onnx_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "tiny-onnx"
    assert _tiny_model_script().main([str(out)]) == 0
    return out


def _run(model: str | None, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[str]]:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # run_selftest sets it; restore after
    out = io.StringIO()
    code = run_selftest(model, out=out)
    prefix = "samlabel --selftest: "
    lines = out.getvalue().splitlines()
    assert all(line.startswith(prefix) for line in lines)
    return code, [line.removeprefix(prefix) for line in lines]


def test_the_tiny_model_passes_every_step(qapp, tiny_onnx_folder: Path, monkeypatch) -> None:
    assert (tiny_onnx_folder / "manifest.json").is_file()
    code, lines = _run(str(tiny_onnx_folder), monkeypatch)
    assert code == 0, lines
    assert [line.split(":")[0] for line in lines[:-1]] == STEPS
    assert all(": ok, " in line for line in lines[:-1])
    assert "offscreen platform" in lines[4]
    assert lines[-1] == "self-test passed: all 5 steps"


def test_a_missing_model_fails_the_run_and_skips_what_needs_it(qapp, tmp_path, monkeypatch):
    missing = tmp_path / "no-such-model"
    code, lines = _run(str(missing), monkeypatch)
    assert code == 1
    assert lines[0] == f"model: FAILED: {missing} does not exist."
    assert all(line.endswith("skipped (an earlier step failed)") for line in lines[1:5])
    assert lines[-1].startswith("self-test FAILED: model, encode, decode, coco, window")


def test_a_decoder_returning_nan_fails_decode_but_the_window_still_runs(
    qapp, tiny_onnx_folder: Path, monkeypatch
) -> None:
    import samlabel.inference as inference

    real_load = inference.load_predictor

    def load_with_broken_decoder(path, backend="auto", **options):
        predictor = real_load(path, backend=backend, **options)
        decode = predictor.decode

        def broken(*args, **kwargs):
            prediction = decode(*args, **kwargs)
            prediction.scores = np.full_like(prediction.scores, np.nan)
            return prediction

        predictor.decode = broken
        return predictor

    monkeypatch.setattr(inference, "load_predictor", load_with_broken_decoder)
    code, lines = _run(str(tiny_onnx_folder), monkeypatch)
    assert code == 1
    assert lines[2].startswith("decode: FAILED: scores [nan nan nan] are not three finite")
    assert lines[3] == "coco: skipped (an earlier step failed)"
    assert lines[4].startswith("window: ok")
    assert lines[-1] == "self-test FAILED: decode, coco (2 of 5)"


def test_the_command_without_a_model_says_how_to_give_one(capsys, monkeypatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main(["--selftest"]) == 1
    out = capsys.readouterr().out
    assert "model: FAILED: no model to test: give one with --model" in out
    assert "Traceback" not in out


def test_a_missing_system_library_fails_the_window_step_with_the_apt_line(
    qapp, tiny_onnx_folder: Path, monkeypatch
) -> None:
    import samlabel.preflight as preflight

    if not sys.platform.startswith("linux"):
        pytest.skip("the system libraries are checked on Linux only")

    def loader(soname: str) -> object:
        if soname == "libEGL.so.1":
            raise OSError(f"{soname}: cannot open shared object file")
        return object()

    monkeypatch.setattr(preflight, "_load_library", loader)
    code, lines = _run(str(tiny_onnx_folder), monkeypatch)
    assert code == 1
    assert lines[4].startswith("window: FAILED: the window needs system libraries")
    assert "sudo apt-get install libegl1" in lines[4]
    assert lines[-1] == "self-test FAILED: window (1 of 5)"
