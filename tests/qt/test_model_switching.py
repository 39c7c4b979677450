"""Choosing and switching models in the window: loads in a worker with progress, a failed
load keeps the previous model, a real checkpoint opened through the dialog labels an image."""

from __future__ import annotations

import shutil
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from samlabel.core.errors import CheckpointError
from samlabel.core.paths import bundled_models_dir
from samlabel.qt.model_loading import ModelLoadTask, startup_model
from samlabel.qt.settings import SettingsStore
from tests.qt.fakes import FakePredictor
from tests.qt.window_helpers import click_image, key, open_window, saved_coco, wait_ready


class NamedFake(FakePredictor):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.model_name = name


def _fake_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(name.encode())
    return path


@pytest.mark.slow  # a first load exports the checkpoint to ONNX: about 20 s on 2 cores
def test_real_checkpoint_opened_through_the_dialog_labels_an_image(
    qtbot, tmp_path, monkeypatch, fixtures_dir
) -> None:
    checkpoint = fixtures_dir / "sam_vit_random" / "checkpoint.pth"
    folder = tmp_path / "images"
    folder.mkdir()
    shutil.copy(fixtures_dir / "sam_vit_random" / "image.png", folder / "field.png")
    win = open_window(qtbot, tmp_path / "s.ini", None)
    assert win.folders.open_folder(folder)
    wait_ready(qtbot, win)
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(checkpoint), ""))
    )
    win.actions["choose_model"].trigger()
    dialog = win.models.dialog
    assert dialog.isVisible()
    dialog.backend_box.setCurrentIndex(dialog.backend_box.findData("onnxruntime"))
    qtbot.mouseClick(dialog.open_file_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    # The offscreen platform does not hand activation back from a closed dialog as a window
    # manager does; window shortcuts (Enter) need the active window.
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    # A first load exports ONNX (seconds); the window answers meanwhile.
    qtbot.waitUntil(lambda: win.controller.predictor is not None, timeout=120_000)
    predictor = win.controller.predictor
    assert predictor.backend == "onnxruntime"
    assert win.status.model_label.text() == predictor.describe()
    assert win.settings.model_path == checkpoint and win.settings.model_backend == "onnxruntime"
    wait_ready(qtbot, win, timeout=60_000)
    click_image(qtbot, win, 300, 200)
    assert win.controller.prompts.prediction is not None
    key(qtbot, win, Qt.Key.Key_Return)
    coco = saved_coco(win)
    assert [image["file_name"] for image in coco["images"]] == ["field.png"]
    (annotation,) = coco["annotations"]
    assert annotation["image_id"] == coco["images"][0]["id"]
    assert annotation["area"] > 0 and annotation["segmentation"]


def test_load_progress_shows_in_the_status_bar_while_the_window_answers(
    qtbot, tmp_path, image_folder
) -> None:
    win = open_window(qtbot, tmp_path / "s.ini", None)
    release = threading.Event()

    def exporting_loader(path: Path, backend: str = "auto", progress=None):
        progress("Converting the image encoder (once per model)", 0.25)
        release.wait(10)
        return NamedFake(f"Fake {backend}")

    win.models.loader = exporting_loader
    win.models.load_model(_fake_file(tmp_path, "big.pth"), "onnxruntime")
    bar = win.status.progress
    qtbot.waitUntil(lambda: bar.maximum() == 1000 and bar.value() == 250, timeout=5000)
    assert bar.isVisible()
    assert "Converting the image encoder" in win.status.state_label.text()
    assert win.folders.open_folder(image_folder)  # the GUI is not blocked by the load
    release.set()
    qtbot.waitUntil(lambda: win.controller.predictor is not None, timeout=5000)
    assert win.status.model_label.text() == "Fake onnxruntime · fake on cpu"
    wait_ready(qtbot, win)
    assert not bar.isVisible()


def test_switching_models_reencodes_keeps_annotations_and_clears_prompts(
    qtbot, tmp_path, image_folder
) -> None:
    first = NamedFake("First")
    win = open_window(qtbot, tmp_path / "s.ini", first, cache=True)
    assert win.folders.open_folder(image_folder)
    wait_ready(qtbot, win)
    click_image(qtbot, win, 80, 60)
    key(qtbot, win, Qt.Key.Key_Return)
    click_image(qtbot, win, 40, 40)  # a prompt still open when the model changes
    assert win.controller.prompts.points
    second = NamedFake("Second")
    win.models.loader = lambda path: second
    win.models.load_model(_fake_file(tmp_path, "second.pth"))
    qtbot.waitUntil(lambda: win.controller.predictor is second, timeout=5000)
    wait_ready(qtbot, win)
    # The on-disk cache held the first model's embedding: the second encodes on its own.
    assert [size for size, _ in second.encoded][:1] == [(120, 160)]
    assert win.controller.prompts.is_empty()
    assert len(saved_coco(win)["annotations"]) == 1
    assert win.status.model_label.text().startswith("Second")
    click_image(qtbot, win, 80, 60)
    assert second.decode_calls > 0 and win.controller.prompts.prediction is not None


def test_failed_load_keeps_the_previous_model_in_use(qtbot, tmp_path, image_folder) -> None:
    win = open_window(qtbot, tmp_path / "s.ini", NamedFake("Good"))
    assert win.folders.open_folder(image_folder)
    wait_ready(qtbot, win)

    def broken(path: Path):
        raise CheckpointError(f"{path} is not a SAM checkpoint (no image_encoder weights).", path)

    win.models.loader = broken
    win.models.load_model(_fake_file(tmp_path, "junk.pth"))
    qtbot.waitUntil(lambda: "junk.pth" in win.message_bar.text, timeout=5000)
    assert win.message_bar.level == "error"
    assert "not a SAM checkpoint" in win.message_bar.text
    assert "Still using Good" in win.message_bar.text
    assert win.controller.predictor.model_name == "Good"
    assert win.status.model_label.text().startswith("Good")
    assert not win.status.progress.isVisible()
    click_image(qtbot, win, 80, 60)
    key(qtbot, win, Qt.Key.Key_Return)
    assert len(saved_coco(win)["annotations"]) == 1


def test_a_newer_load_wins_over_a_slower_older_one(qtbot, tmp_path) -> None:
    win = open_window(qtbot, tmp_path / "s.ini", None)
    release = threading.Event()

    def loader(path: Path):
        if path.name == "slow.pth":
            release.wait(10)
            return NamedFake("Slow")
        return NamedFake("Fast")

    win.models.loader = loader
    win.models.load_model(_fake_file(tmp_path, "slow.pth"))
    slow_job = win.models.job
    win.models.load_model(_fake_file(tmp_path, "fast.pth"))
    qtbot.waitUntil(lambda: win.controller.predictor is not None, timeout=5000)
    release.set()
    slow_job.wait(5)
    qtbot.wait(50)  # let the slow answer arrive (and be ignored)
    assert win.controller.predictor.model_name == "Fast"
    assert win.settings.model_path == tmp_path / "fast.pth"


def test_load_task_passes_only_what_the_loader_takes(qtbot, tmp_path) -> None:
    seen: list[tuple] = []
    task = ModelLoadTask(lambda path: seen.append((path,)) or NamedFake("a"), "torch")
    with qtbot.waitSignal(task.loaded):
        task.start(tmp_path / "a.pth")
    task = ModelLoadTask(lambda path, **options: seen.append((path, options)) or NamedFake("b"))
    with qtbot.waitSignal(task.loaded):
        task.start(tmp_path / "b.pth")
    assert seen[0] == (tmp_path / "a.pth",)
    assert seen[1][1].keys() == {"progress"}  # no backend asked for: the loader's default


def test_settings_remember_model_and_backend(tmp_path) -> None:
    settings = SettingsStore(tmp_path / "s.ini")
    assert settings.model_backend == "auto" and settings.model_path is None
    settings.model_path = tmp_path / "m.pth"
    settings.model_backend = "openvino"
    settings.sync()
    again = SettingsStore(tmp_path / "s.ini")
    assert again.model_path == tmp_path / "m.pth" and again.model_backend == "openvino"
    again.model_backend = "something-old"
    assert again.model_backend == "auto"


def test_packaged_app_opens_its_bundled_model_when_none_is_chosen(monkeypatch, tmp_path) -> None:
    bundle = tmp_path / "_internal"
    models = bundle / "models"
    (models / "mobile_sam_onnx").mkdir(parents=True)
    (models / "mobile_sam_onnx" / "manifest.json").write_text("{}")
    _fake_file(models, "a_checkpoint.pt")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    bundled = bundled_models_dir()
    assert bundled == models
    # Nothing chosen (or the chosen file is gone): the bundled ONNX folder, which needs no export.
    assert startup_model(None, None, bundled) == models / "mobile_sam_onnx"
    assert startup_model(None, tmp_path / "deleted.pth", bundled) == models / "mobile_sam_onnx"
    remembered = _fake_file(tmp_path, "mine.pth")
    assert startup_model(None, remembered, bundled) == remembered
    asked = tmp_path / "typo.pth"  # shown as an error rather than silently replaced
    assert startup_model(asked, remembered, bundled) == asked
    assert startup_model(None, None, None) is None
    assert startup_model(None, None, tmp_path / "empty") is None


@pytest.mark.parametrize("torch_present", [True, False])
def test_bundled_checkpoint_is_skipped_without_torch(monkeypatch, tmp_path, torch_present) -> None:
    import samlabel.qt.model_loading as model_loading

    monkeypatch.setattr(model_loading, "torch_available", lambda: torch_present)
    checkpoint = _fake_file(tmp_path, "mobile_sam.pt")
    expected = checkpoint if torch_present else None
    assert startup_model(None, None, tmp_path) == expected
