"""``samlabel models ...`` end to end, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import sys
import types
from pathlib import Path

import pytest

from samlabel import cli
from samlabel.commands.models import TerminalProgress, format_size
from samlabel.inference import registry
from samlabel.inference.registry import ModelSpec
from tests.inference.model_server import ModelServer, clear_proxy_env, closed_port


@pytest.fixture(autouse=True)
def _only_models_subcommand(monkeypatch: pytest.MonkeyPatch) -> None:
    # The other subcommands are not under test here; keep their imports out of the way.
    monkeypatch.setattr(cli, "SUBCOMMANDS", {"models": "models"})
    clear_proxy_env(monkeypatch)


@pytest.fixture(scope="module")
def payload(fixtures_dir: Path) -> bytes:
    return (fixtures_dir / "mobile_sam_random" / "checkpoint.pth").read_bytes()


@pytest.fixture
def server(payload: bytes, monkeypatch: pytest.MonkeyPatch):
    with ModelServer(payload, "test_model.pth") as running:
        spec = ModelSpec(
            "test_model",
            "Test model",
            "test_model.pth",
            running.url(),
            len(payload),
            hashlib.sha256(payload).hexdigest(),
        )
        monkeypatch.setitem(registry.MODELS, "test_model", spec)
        yield running


def samlabel(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["models", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_official_model_size_status_and_folder(capsys, tmp_path):
    (tmp_path / "sam_vit_b_01ec64.pth").write_bytes(b"x" * 2048)
    (tmp_path / "lab_model.pt").write_bytes(b"y")

    code, out, _ = samlabel(capsys, "list", "--models-dir", str(tmp_path))

    assert code == 0
    assert f"Models folder: {tmp_path}\n" in out
    lines = {line.split()[0]: line for line in out.splitlines()[2:] if line.strip()}
    assert "not installed" in lines["vit_h"] and "2.39 GiB" in lines["vit_h"]
    assert "not installed" in lines["vit_t"] and "38.8 MiB" in lines["vit_t"]
    assert (
        "installed" in lines["vit_b"] and str(tmp_path / "sam_vit_b_01ec64.pth") in lines["vit_b"]
    )
    assert "custom: lab_model.pt" in lines["lab_model"]
    assert "samlabel models download NAME" in out
    # What an offline user needs for a model not installed: its file name and address.
    vit_h = registry.get_model("vit_h")
    assert lines[vit_h.file_name].split() == [vit_h.file_name, vit_h.url]
    assert registry.get_model("vit_t").file_name in lines
    assert registry.get_model("vit_b").file_name not in lines  # installed: nothing to fetch


def test_list_says_when_the_folder_is_read_only(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")

    code, out, _ = samlabel(capsys, "list", "--models-dir", str(blocker / "models"))

    assert code == 0
    assert "(read-only)" in out.splitlines()[0]


def test_download_shows_progress_verifies_and_installs(capsys, server, payload, tmp_path):
    code, out, err = samlabel(capsys, "download", "test_model", "--models-dir", str(tmp_path))

    assert code == 0, err
    assert (tmp_path / "test_model.pth").read_bytes() == payload
    assert "sha256 verified" in out
    assert "100.0%" in err and format_size(len(payload)) in err

    code, out, _ = samlabel(capsys, "download", "test_model", "--models-dir", str(tmp_path))
    assert code == 0 and "already installed" in out
    assert len(server.requests) == 1


def test_download_resumes_a_broken_transfer(capsys, server, payload, tmp_path):
    server.cut_next = 1

    code, _, err = samlabel(capsys, "download", "test_model", "--models-dir", str(tmp_path))

    assert code == 0, err
    first, resumed = server.ranges_seen()
    assert first is None and resumed is not None and resumed.startswith("bytes=")
    assert (tmp_path / "test_model.pth").read_bytes() == payload


def test_download_offline_refuses_with_manual_instructions(capsys, monkeypatch, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/test_model.pth"
    monkeypatch.setitem(
        registry.MODELS, "test_model", ModelSpec("test_model", "T", "test_model.pth", url, 1, None)
    )

    code, out, err = samlabel(capsys, "download", "test_model", "--models-dir", str(tmp_path))

    assert code == 2 and out == ""
    assert "\nsamlabel: The server 127.0.0.1 refused the connection" in err
    assert f"download {url} on a computer with internet access" in err
    assert f"copy the file to {tmp_path} as test_model.pth" in err
    assert list(tmp_path.iterdir()) == []


def test_download_into_read_only_folder_fails_clearly(capsys, server, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")

    code, _, err = samlabel(
        capsys, "download", "test_model", "--models-dir", str(blocker / "models")
    )

    assert code == 2
    assert f"Cannot save models in {blocker / 'models'}" in err
    assert server.requests == []


def test_download_of_an_unknown_name_lists_the_known_ones(capsys, tmp_path):
    code, _, err = samlabel(capsys, "download", "vit_z", "--models-dir", str(tmp_path))

    assert code == 2
    assert "'vit_z'" in err and "vit_b" in err and "vit_t" in err


def test_import_rejects_a_file_that_is_not_a_checkpoint(capsys, tmp_path):
    bogus = tmp_path / "weights.pth"
    bogus.write_bytes(b"not a model")

    code, out, err = samlabel(capsys, "import", str(bogus), "--models-dir", str(tmp_path / "m"))

    assert code == 2 and out == ""
    assert "weights.pth" in err
    assert not (tmp_path / "m").exists()


def test_import_and_remove(capsys, monkeypatch, fixtures_dir, tmp_path):
    import samlabel.sam.checkpoint as checkpoint_module

    checked: list[Path] = []
    real_load = checkpoint_module.load_sam_model

    def recording_load(path):
        checked.append(Path(path))
        return real_load(path)

    monkeypatch.setattr(checkpoint_module, "load_sam_model", recording_load)
    source = fixtures_dir / "sam_vit_random" / "checkpoint.pth"
    folder = tmp_path / "models"

    code, out, err = samlabel(
        capsys,
        "import",
        str(source),
        "--name",
        "tiny-vit",
        "--no-onnx",
        "--models-dir",
        str(folder),
    )

    assert code == 0, err
    assert checked == [source]
    assert "Imported SAM ViT" in out and str(folder / "tiny-vit.pth") in out
    code, out, _ = samlabel(capsys, "list", "--models-dir", str(folder))
    assert "custom: tiny-vit.pth" in out

    code, out, _ = samlabel(capsys, "remove", "tiny-vit", "--models-dir", str(folder))
    assert code == 0 and f"Removed {folder / 'tiny-vit.pth'}" in out
    code, _, err = samlabel(capsys, "remove", "tiny-vit", "--models-dir", str(folder))
    assert code == 2 and "no model called 'tiny-vit'" in err


def test_progress_redraws_one_line_on_a_terminal(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain writer, even where tqdm exists

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    with TerminalProgress("model.pth", stream) as progress:
        progress(0, 4 << 20)
        progress(4 << 20, 4 << 20)

    text = stream.getvalue()
    assert text.startswith("\rmodel.pth  [") and text.endswith("\n")
    assert "100.0%  4.0 MiB / 4.0 MiB" in text
    assert "#" * 30 in text


def test_import_exports_onnx_and_prints_each_step(capsys, monkeypatch, fixtures_dir, tmp_path):
    import samlabel.inference.export_in_child as export_in_child
    import samlabel.sam.checkpoint as checkpoint_module

    def ensure_onnx(checkpoint_path, progress=None, cache_root=None):
        progress("Converting the image encoder (once per model)", 0.1)
        progress("Converting the image encoder (once per model)", 0.2)
        progress("Model ready", 1.0)
        return tmp_path / "cache" / "onnx" / "abc"

    # The export runs in a child process; its steps come back through this function.
    monkeypatch.setattr(export_in_child, "ensure_onnx_in_child", ensure_onnx)
    monkeypatch.setattr(
        checkpoint_module,
        "load_sam_model",
        lambda path: (object(), types.SimpleNamespace(name="MobileSAM", sha256="")),
    )
    source = fixtures_dir / "mobile_sam_random" / "checkpoint.pth"

    code, out, err = samlabel(capsys, "import", str(source), "--models-dir", str(tmp_path / "m"))

    assert code == 0, err
    assert f"ONNX files: {tmp_path / 'cache' / 'onnx' / 'abc'}" in out
    assert "Imported MobileSAM as 'checkpoint'" in out
    assert err.count("Converting the image encoder") == 1
    assert " 100%  Model ready" in err
