"""The models folder: listing, downloading into it, importing checkpoints, removing."""

from __future__ import annotations

import hashlib
import types
from pathlib import Path

import pytest

from samlabel.core.errors import CheckpointError, ModelDownloadError
from samlabel.inference import export_in_child, registry
from samlabel.inference.download import part_path
from samlabel.inference.model_store import (
    ModelFolderError,
    ModelStore,
    folder_is_writable,
    models_folder,
)
from samlabel.inference.registry import ModelSpec, UnknownModelError
from tests.inference.model_server import ModelServer, clear_proxy_env


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_env(monkeypatch)


@pytest.fixture(scope="module")
def checkpoint(fixtures_dir: Path) -> Path:
    return fixtures_dir / "mobile_sam_random" / "checkpoint.pth"


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Path]:
    """A stand-in ONNX exporter that records the checkpoints it was asked to export."""
    calls: list[Path] = []

    def ensure_onnx(checkpoint_path, progress=None):
        calls.append(Path(checkpoint_path))
        if progress is not None:
            progress("Converting the image encoder (once per model)", 0.1)
            progress("Model ready", 1.0)
        return tmp_path / "onnx-cache" / "exported"

    monkeypatch.setattr(export_in_child, "ensure_onnx_in_child", ensure_onnx)
    return calls


@pytest.fixture
def fake_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip building the network where a test is about the folder, not the weights."""
    import samlabel.sam.checkpoint as checkpoint_module

    def load(path):
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        return object(), types.SimpleNamespace(name="MobileSAM", sha256=digest)

    monkeypatch.setattr(checkpoint_module, "load_sam_model", load)


def test_folder_comes_from_setting_then_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SAMLABEL_MODELS_DIR", str(tmp_path / "from-env"))
    assert models_folder() == tmp_path / "from-env"
    assert models_folder(tmp_path / "from-setting") == tmp_path / "from-setting"
    assert models_folder("") == tmp_path / "from-env"
    assert ModelStore().folder == tmp_path / "from-env"


def test_lists_every_official_model_and_what_is_installed(tmp_path):
    store = ModelStore(tmp_path)
    (tmp_path / "sam_vit_b_01ec64.pth").write_bytes(b"x" * 10)
    (tmp_path / "my_model.pt").write_bytes(b"y" * 5)
    (tmp_path / "exported").mkdir()
    (tmp_path / "exported" / "manifest.json").write_text("{}")
    (tmp_path / "sam_vit_h_4b8939.pth.part").write_bytes(b"z")  # unfinished download
    (tmp_path / ".my_model.pt.tmp").write_bytes(b"z")  # unfinished import
    (tmp_path / "notes.txt").write_text("not a model")

    entries = {entry.name: entry for entry in store.entries()}

    official = ["vit_t", "sam2.1_t", "sam2.1_s", "sam2.1_b+", "vit_b", "sam2.1_l", "vit_l", "vit_h"]
    assert list(entries) == [*official, "exported", "my_model"]
    assert entries["vit_b"].installed and entries["vit_b"].size == 10
    assert not entries["vit_h"].installed
    assert entries["vit_h"].size == registry.MODELS["vit_h"].size
    assert entries["vit_h"].path == tmp_path / "sam_vit_h_4b8939.pth"
    assert entries["my_model"].installed and not entries["my_model"].official
    assert [entry.name for entry in store.installed()] == ["vit_b", "exported", "my_model"]
    assert store.path_of("sam_vit_b") == tmp_path / "sam_vit_b_01ec64.pth"
    with pytest.raises(UnknownModelError, match="samlabel models download vit_h"):
        store.path_of("vit_h")
    with pytest.raises(UnknownModelError, match="no model called 'nope'"):
        store.get("nope")


def test_shared_read_only_folder_is_listed_but_never_changed(tmp_path):
    shared = tmp_path / "lab-share"
    shared.mkdir()
    (shared / "mobile_sam.pt").write_bytes(b"w" * 7)
    store = ModelStore(tmp_path / "mine", read_only_folders=[shared])

    entry = store.get("mobile_sam")

    assert entry.installed and entry.read_only and entry.path == shared / "mobile_sam.pt"
    with pytest.raises(ModelFolderError, match="read-only models folder"):
        store.remove("vit_t")
    assert (shared / "mobile_sam.pt").exists()


def test_download_installs_a_verified_model_once(monkeypatch, checkpoint, tmp_path):
    payload = checkpoint.read_bytes()
    with ModelServer(payload, "test_model.pth") as server:
        spec = ModelSpec(
            "test_model",
            "Test model",
            "test_model.pth",
            server.url(),
            len(payload),
            hashlib.sha256(payload).hexdigest(),
        )
        monkeypatch.setitem(registry.MODELS, "test_model", spec)
        store = ModelStore(tmp_path / "models")
        progress: list[int] = []

        path = store.download("test_model", progress=lambda done, total: progress.append(done))
        again = store.download("test_model")

        assert path == again == tmp_path / "models" / "test_model.pth"
        assert path.read_bytes() == payload
        assert len(server.requests) == 1  # the second call used the installed file
        assert progress[-1] == len(payload)
        assert store.get("test_model").installed


def test_download_of_unknown_model_names_the_known_ones(tmp_path):
    with pytest.raises(UnknownModelError, match="vit_b"):
        ModelStore(tmp_path).download("vit_z")


def test_download_into_unwritable_folder_is_refused_clearly(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    store = ModelStore(blocker / "models")

    assert not store.is_writable()
    with pytest.raises(ModelDownloadError, match="Cannot save models in"):
        store.download("vit_t")


def test_import_checks_the_weights_copies_and_exports(checkpoint, exporter, tmp_path):
    store = ModelStore(tmp_path / "models")

    steps: list[tuple[str, float]] = []

    result = store.import_checkpoint(
        checkpoint, name="random mobile", progress=lambda *step: steps.append(step)
    )

    dest = tmp_path / "models" / "random_mobile.pth"
    assert result.copied and result.entry.path == dest
    assert result.model_name == "MobileSAM"
    assert dest.read_bytes() == checkpoint.read_bytes()
    assert exporter == [dest]
    assert result.onnx_folder == tmp_path / "onnx-cache" / "exported"
    assert steps[-1] == ("Model ready", 1.0)
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["random_mobile.pth"]

    again = store.import_checkpoint(checkpoint, name="random mobile", export_onnx=False)
    assert not again.copied and again.onnx_folder is None
    assert store.get("random_mobile").installed


def test_import_refuses_a_file_that_is_not_a_sam_checkpoint(exporter, tmp_path):
    bogus = tmp_path / "holiday.pth"
    bogus.write_bytes(b"these are not weights")
    store = ModelStore(tmp_path / "models")

    with pytest.raises(CheckpointError, match=r"holiday\.pth"):
        store.import_checkpoint(bogus)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8")
    with pytest.raises(CheckpointError, match="not a checkpoint file"):
        store.import_checkpoint(photo)
    with pytest.raises(CheckpointError, match="does not exist"):
        store.import_checkpoint(tmp_path / "missing.pth")

    assert not (tmp_path / "models").exists()
    assert exporter == []


def test_import_of_an_official_file_keeps_its_official_name(
    monkeypatch, checkpoint, exporter, fake_loader, tmp_path
):
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    spec = ModelSpec("test_model", "Test", "official_name.pt", "http://127.0.0.1:9/x", None, digest)
    monkeypatch.setitem(registry.MODELS, "test_model", spec)
    store = ModelStore(tmp_path / "models")

    result = store.import_checkpoint(checkpoint, export_onnx=False)

    assert result.entry.path == tmp_path / "models" / "official_name.pt"
    assert result.entry.official and result.entry.name == "test_model"


def test_import_does_not_overwrite_a_different_model(checkpoint, fake_loader, tmp_path):
    store = ModelStore(tmp_path / "models")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "checkpoint.pth").write_bytes(b"someone else's model")

    with pytest.raises(ModelFolderError, match="--name"):
        store.import_checkpoint(checkpoint, export_onnx=False)

    assert (tmp_path / "models" / "checkpoint.pth").read_bytes() == b"someone else's model"


def test_import_into_unwritable_folder_is_refused_clearly(checkpoint, fake_loader, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("in the way")

    with pytest.raises(ModelFolderError, match="Cannot import models into"):
        ModelStore(blocker / "models").import_checkpoint(checkpoint, export_onnx=False)


def test_remove_deletes_the_file_and_a_leftover_partial_download(tmp_path):
    store = ModelStore(tmp_path)
    (tmp_path / "sam_vit_b_01ec64.pth").write_bytes(b"x")
    part_path(tmp_path / "sam_vit_b_01ec64.pth").write_bytes(b"x")
    (tmp_path / "custom.pt").write_bytes(b"y")

    assert store.remove("vit_b") == tmp_path / "sam_vit_b_01ec64.pth"
    assert store.remove("custom") == tmp_path / "custom.pt"

    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UnknownModelError, match="not installed"):
        store.remove("vit_b")


def test_writable_probe_tries_a_real_file(tmp_path):
    assert folder_is_writable(tmp_path / "does" / "not" / "exist")
    (tmp_path / "f").write_text("x")
    assert not folder_is_writable(tmp_path / "f" / "models")


def test_import_cannot_take_an_official_file_name(checkpoint, fake_loader, tmp_path):
    store = ModelStore(tmp_path / "models")

    with pytest.raises(ModelFolderError, match="official model file"):
        store.import_checkpoint(checkpoint, name="sam_vit_b_01ec64", export_onnx=False)

    assert not store.get("vit_b").installed


def test_download_finds_a_model_already_in_a_shared_folder(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "sam_vit_b_01ec64.pth").write_bytes(b"x")
    store = ModelStore(tmp_path / "mine", read_only_folders=[shared])

    # No server is running: the shared copy is returned without any network.
    assert store.download("vit_b") == shared / "sam_vit_b_01ec64.pth"


def test_a_packaged_apps_models_folder_is_searched(tmp_path, monkeypatch):
    """A model bundled with the app is found without a download, and never written to."""
    import sys

    from samlabel.inference.model_store import ModelStore

    bundle = tmp_path / "bundle"
    (bundle / "models" / "field-model").mkdir(parents=True)
    (bundle / "models" / "field-model" / "manifest.json").write_text("{}")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    store = ModelStore(tmp_path / "user-models")
    assert bundle / "models" in store.read_only_folders
    (entry,) = store.installed()
    assert entry.path == bundle / "models" / "field-model"
    assert entry.read_only
