"""The model dialog: downloads against a local server, opening files, choosing a backend."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from samlabel.inference import registry
from samlabel.inference.download import part_path
from samlabel.inference.model_store import ModelStore
from samlabel.inference.registry import ModelSpec
from samlabel.qt.model_dialog import ModelDialog
from samlabel.qt.model_downloads import format_bytes
from tests.inference.model_server import ModelServer, clear_proxy_env, closed_port

#: A payload of a few client chunks (1 MiB each), so progress has steps in between.
PAYLOAD = bytes(range(256)) * (4 * 4096 + 100)


class SlowModelServer(ModelServer):
    """Sends the body in 64 KiB pieces with a pause between them: a download that lasts long
    enough (about half a second) for Cancel to land in the middle of it."""

    def _handler_class(self):
        base = super()._handler_class()

        class SlowWriter:
            def __init__(self, raw) -> None:
                self._raw = raw

            def write(self, data: bytes) -> int:
                view = memoryview(data)
                for start in range(0, len(view), 1 << 16):
                    self._raw.write(view[start : start + (1 << 16)])
                    self._raw.flush()
                    time.sleep(0.008)
                return len(data)

            def __getattr__(self, name: str):
                return getattr(self._raw, name)

        class SlowHandler(base):
            def setup(self) -> None:
                super().setup()
                self.wfile = SlowWriter(self.wfile)

        return SlowHandler


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_env(monkeypatch)


@pytest.fixture
def server():
    with SlowModelServer(PAYLOAD, "test_model.pth") as running:
        yield running


def _register(monkeypatch, url: str, sha256: str | None = None) -> ModelSpec:
    spec = ModelSpec(
        name="test_model",
        title="Test SAM",
        file_name="test_model.pth",
        url=url,
        size=len(PAYLOAD),
        sha256=sha256 or hashlib.sha256(PAYLOAD).hexdigest(),
        description="a few megabytes served by the test",
    )
    monkeypatch.setitem(registry.MODELS, spec.name, spec)
    return spec


def _dialog(qtbot, folder: Path) -> ModelDialog:
    dialog = ModelDialog(ModelStore(folder))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _wait_download(qtbot, dialog: ModelDialog, timeout: int = 15000) -> None:
    qtbot.waitUntil(lambda: dialog.download_task is None, timeout=timeout)


def test_lists_official_and_custom_models_with_sizes(qtbot, tmp_path) -> None:
    (tmp_path / "mobile_sam.pt").write_bytes(b"x" * 1500)
    (tmp_path / "lab_model.pth").write_bytes(b"y" * 2_000_000)
    dialog = _dialog(qtbot, tmp_path)
    rows = {
        dialog.tree.topLevelItem(i).text(0): dialog.tree.topLevelItem(i)
        for i in range(dialog.tree.topLevelItemCount())
    }
    assert {"SAM ViT-B", "SAM ViT-L", "SAM ViT-H", "MobileSAM (TinyViT)", "lab_model.pth"} <= set(
        rows
    )
    assert rows["SAM ViT-B"].text(2) == "Not downloaded"
    assert rows["SAM ViT-B"].text(1) == format_bytes(registry.MODELS["vit_b"].size)
    assert rows["MobileSAM (TinyViT)"].text(2) == "Installed"
    assert rows["lab_model.pth"].text(1) == "2.0 MB"
    assert rows["lab_model.pth"].text(3) == str(tmp_path / "lab_model.pth")
    # An installed model can be used; one not downloaded can only be downloaded.
    dialog.select("vit_b")
    assert dialog.download_button.isEnabled() and not dialog.use_button.isEnabled()
    dialog.select("vit_t")
    assert dialog.use_button.isEnabled() and not dialog.download_button.isEnabled()
    with qtbot.waitSignal(dialog.modelChosen) as chosen:
        qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert chosen.args == [str(tmp_path / "mobile_sam.pt"), dialog.backend]


def test_download_shows_progress_verifies_and_can_be_used(
    qtbot, monkeypatch, tmp_path, server
) -> None:
    _register(monkeypatch, server.url())
    dialog = _dialog(qtbot, tmp_path)
    dialog.select("test_model")
    values: list[int] = []
    dialog.progress.valueChanged.connect(values.append)
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isEnabled() and not dialog.download_button.isEnabled()
    _wait_download(qtbot, dialog)
    assert any(0 < v < 1000 for v in values), values  # the bar moved through the middle
    assert values[-1] == 1000
    assert (tmp_path / "test_model.pth").read_bytes() == PAYLOAD
    assert dialog.download_status.text() == "Downloaded and verified."
    assert not dialog.error_label.isVisible()
    assert dialog.selected_entry().installed and dialog.use_button.isEnabled()
    with qtbot.waitSignal(dialog.modelChosen) as chosen:
        qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert chosen.args[0] == str(tmp_path / "test_model.pth")


def test_cancel_keeps_the_partial_file_and_a_second_download_resumes(
    qtbot, monkeypatch, tmp_path, server
) -> None:
    _register(monkeypatch, server.url())
    dialog = _dialog(qtbot, tmp_path)
    dialog.select("test_model")

    def cancel_once(value: int) -> None:
        if 0 < value < 1000 and dialog.download_task is not None:
            dialog.progress.valueChanged.disconnect(cancel_once)
            qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)

    dialog.progress.valueChanged.connect(cancel_once)
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    _wait_download(qtbot, dialog)
    assert dialog.download_status.text().startswith("Cancelled")
    assert not (tmp_path / "test_model.pth").exists()
    partial = part_path(tmp_path / "test_model.pth")
    assert 0 < partial.stat().st_size < len(PAYLOAD)
    assert dialog.download_button.isEnabled() and not dialog.error_label.isVisible()

    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    _wait_download(qtbot, dialog)
    assert (tmp_path / "test_model.pth").read_bytes() == PAYLOAD
    assert server.ranges_seen()[-1] is not None  # continued from the partial file


def test_wrong_checksum_shows_the_error_and_leaves_no_file(
    qtbot, monkeypatch, tmp_path, server
) -> None:
    _register(monkeypatch, server.url(), sha256="0" * 64)
    dialog = _dialog(qtbot, tmp_path)
    dialog.select("test_model")
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    _wait_download(qtbot, dialog)
    assert dialog.error_label.isVisible()
    assert "damaged or not the published file" in dialog.error_label.text()
    assert "test_model.pth" in dialog.error_label.text()
    assert list(tmp_path.iterdir()) == []
    assert dialog.selected_entry().name == "test_model" and not dialog.use_button.isEnabled()
    assert dialog.download_button.isEnabled()  # the user may try again


def test_offline_download_says_how_to_install_by_hand(qtbot, monkeypatch, tmp_path) -> None:
    _register(monkeypatch, f"http://127.0.0.1:{closed_port()}/test_model.pth")
    dialog = _dialog(qtbot, tmp_path)
    dialog.select("test_model")
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    _wait_download(qtbot, dialog)
    text = dialog.error_label.text()
    assert "refused the connection" in text
    assert "by hand" in text and str(tmp_path) in text


def test_closing_the_dialog_stops_a_download(qtbot, monkeypatch, tmp_path, server) -> None:
    _register(monkeypatch, server.url())
    dialog = _dialog(qtbot, tmp_path)
    dialog.select("test_model")
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    task = dialog.download_task
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert not task.is_alive() and not dialog.isVisible()
    assert not (tmp_path / "test_model.pth").exists()


def test_open_checkpoint_and_onnx_folder_buttons(qtbot, monkeypatch, tmp_path) -> None:
    checkpoint = tmp_path / "elsewhere" / "finetuned.pth"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"weights")
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(checkpoint), ""))
    )
    dialog = _dialog(qtbot, tmp_path / "models")
    dialog.backend_box.setCurrentIndex(dialog.backend_box.findData("onnxruntime"))
    with qtbot.waitSignal(dialog.modelChosen) as chosen:
        qtbot.mouseClick(dialog.open_file_button, Qt.MouseButton.LeftButton)
    assert chosen.args == [str(checkpoint), "onnxruntime"]

    not_onnx = tmp_path / "just_images"
    not_onnx.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(not_onnx))
    )
    dialog = _dialog(qtbot, tmp_path / "models")
    qtbot.mouseClick(dialog.open_folder_button, Qt.MouseButton.LeftButton)
    assert "not an exported ONNX model folder" in dialog.error_label.text()
    assert dialog.isVisible()
    (not_onnx / "manifest.json").write_text("{}")
    with qtbot.waitSignal(dialog.modelChosen) as chosen:
        qtbot.mouseClick(dialog.open_folder_button, Qt.MouseButton.LeftButton)
    assert chosen.args[0] == str(not_onnx)


def test_format_bytes() -> None:
    assert format_bytes(None) == "?"
    assert format_bytes(999) == "999 B"
    assert format_bytes(40_728_226) == "40.7 MB"
    assert format_bytes(2_564_550_879) == "2.6 GB"
