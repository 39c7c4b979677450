"""Downloads against a local HTTP server: resume, checksum, clear failures, proxies."""

from __future__ import annotations

import errno
import hashlib
import socket
import sys
import threading
import types
from pathlib import Path

import pytest

from samlabel.core.errors import ModelDownloadError
from samlabel.inference import download
from samlabel.inference.download import DownloadCancelled, download_file, part_path
from tests.inference.model_server import (
    ModelServer,
    clear_proxy_env,
    closed_port,
    self_signed_tls,
)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_env(monkeypatch)


@pytest.fixture(scope="module")
def payload(fixtures_dir: Path) -> bytes:
    return (fixtures_dir / "mobile_sam_random" / "checkpoint.pth").read_bytes()


@pytest.fixture
def server(payload: bytes):
    with ModelServer(payload) as running:
        yield running


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_completes_verifies_and_reports_progress(server, payload, tmp_path):
    dest = tmp_path / "models" / "model.pth"
    calls: list[tuple[int, int | None]] = []

    result = download_file(
        server.url(),
        dest,
        sha256=sha(payload),
        size=len(payload),
        progress=lambda d, t: calls.append((d, t)),
    )

    assert result == dest
    assert dest.read_bytes() == payload
    assert not part_path(dest).exists()
    assert server.ranges_seen() == [None]
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == len(payload)
    assert {t for _, t in calls} == {len(payload)}


def test_transfer_cut_halfway_resumes_with_a_range_request(server, payload, tmp_path):
    server.cut_next = 1
    dest = tmp_path / "model.pth"

    download_file(server.url(), dest, sha256=sha(payload), retry_wait=0)

    first, resumed = server.ranges_seen()
    assert first is None
    # The resume starts where the written bytes end: within the first half, not at zero.
    offset = int(resumed.removeprefix("bytes=").rstrip("-"))
    assert 0 < offset <= len(payload) // 2
    assert dest.read_bytes() == payload


def test_transfer_that_keeps_breaking_gives_up_keeping_the_part(server, payload, tmp_path):
    server.cut_next = 10
    dest = tmp_path / "model.pth"

    with pytest.raises(ModelDownloadError, match="broke off 2 times in a row") as caught:
        download_file(server.url(), dest, sha256=sha(payload), retries=1, retry_wait=0)

    assert "run the download again" in str(caught.value)
    assert 0 < part_path(dest).stat().st_size <= len(payload) // 2
    assert not dest.exists()


def test_breaks_after_progress_do_not_count_against_the_retries(server, payload, tmp_path):
    server.cut_next = 3
    server.cut_after = len(payload) // 4
    dest = tmp_path / "model.pth"

    download_file(server.url(), dest, sha256=sha(payload), retries=1, retry_wait=0)

    ranges = server.ranges_seen()
    assert len(ranges) == 4 and ranges[0] is None
    offsets = [int(r.removeprefix("bytes=").rstrip("-")) for r in ranges[1:]]
    assert offsets == sorted(offsets) and offsets[0] > 0
    assert dest.read_bytes() == payload


def test_cancelled_download_keeps_part_and_next_call_resumes(server, payload, tmp_path):
    dest = tmp_path / "model.pth"
    cancel = threading.Event()

    def stop_after_a_quarter(done: int, total: int | None) -> None:
        if done >= len(payload) // 4:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        download_file(
            server.url(), dest, sha256=sha(payload), progress=stop_after_a_quarter, cancel=cancel
        )
    kept = part_path(dest).stat().st_size
    assert 0 < kept < len(payload)
    assert not dest.exists()

    download_file(server.url(), dest, sha256=sha(payload))

    assert server.ranges_seen() == [None, f"bytes={kept}-"]
    assert dest.read_bytes() == payload


def test_complete_part_file_is_installed_after_a_416(server, payload, tmp_path):
    dest = tmp_path / "model.pth"
    part_path(dest).write_bytes(payload)  # a run that stopped between download and verify

    download_file(server.url(), dest, sha256=sha(payload))

    assert server.ranges_seen() == [f"bytes={len(payload)}-"]
    assert dest.read_bytes() == payload


def test_server_ignoring_range_restarts_from_zero(server, payload, tmp_path):
    server.honour_range = False
    dest = tmp_path / "model.pth"
    part_path(dest).write_bytes(b"garbage that must not stay in front")

    download_file(server.url(), dest, sha256=sha(payload))

    assert dest.read_bytes() == payload


def test_wrong_checksum_is_rejected_and_leaves_no_file(server, payload, tmp_path):
    dest = tmp_path / "model.pth"

    with pytest.raises(ModelDownloadError, match="sha256") as caught:
        download_file(server.url(), dest, sha256="0" * 64)

    assert "deleted" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_size_other_than_published_is_refused_before_downloading(server, payload, tmp_path):
    dest = tmp_path / "model.pth"

    with pytest.raises(ModelDownloadError, match=f"offers {len(payload)} bytes"):
        download_file(server.url(), dest, size=len(payload) + 1)

    assert list(tmp_path.iterdir()) == []


def test_404_says_not_found_and_how_to_install_by_hand(server, tmp_path):
    dest = tmp_path / "models" / "model.pth"
    url = server.url("gone.pth")

    with pytest.raises(ModelDownloadError) as caught:
        download_file(url, dest)

    message = str(caught.value)
    assert "404" in message and url in message
    assert f"copy the file to {dest.parent}" in message
    assert not dest.exists() and not part_path(dest).exists()


def test_refused_connection_is_reported_with_manual_instructions(tmp_path):
    port = closed_port()
    dest = tmp_path / "model.pth"

    with pytest.raises(ModelDownloadError) as caught:
        download_file(f"http://127.0.0.1:{port}/model.pth", dest, timeout=5)

    message = str(caught.value)
    assert f"refused the connection on port {port}" in message
    assert "download" in message and str(tmp_path) in message
    assert list(tmp_path.iterdir()) == []


def test_dns_failure_reads_as_offline(monkeypatch, tmp_path):
    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)

    with pytest.raises(ModelDownloadError, match="seems to be offline") as caught:
        download_file("http://models.example.org/model.pth", tmp_path / "model.pth", timeout=5)

    assert "models.example.org" in str(caught.value)
    assert "on a computer with internet access" in str(caught.value)


def test_models_folder_under_a_regular_file_is_reported(server, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")

    with pytest.raises(ModelDownloadError, match="Cannot save models in") as caught:
        download_file(server.url(), blocker / "models" / "model.pth")

    assert "SAMLABEL_MODELS_DIR" in str(caught.value)
    assert server.requests == []  # refused before touching the network


def test_read_only_models_folder_is_reported(server, monkeypatch, tmp_path):
    real_open = open

    def read_only_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax"):
            raise PermissionError(errno.EROFS, "Read-only file system", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(download, "open", read_only_open, raising=False)

    with pytest.raises(ModelDownloadError, match="read-only") as caught:
        download_file(server.url(), tmp_path / "model.pth")

    assert str(tmp_path) in str(caught.value)


def test_not_enough_disk_space_is_refused_before_writing(server, payload, monkeypatch, tmp_path):
    monkeypatch.setattr(download.shutil, "disk_usage", lambda _: types.SimpleNamespace(free=1000))

    with pytest.raises(ModelDownloadError, match="Not enough free disk space"):
        download_file(server.url(), tmp_path / "model.pth", sha256=sha(payload))

    assert list(tmp_path.iterdir()) == []


def test_disk_filling_up_mid_download_keeps_the_part_for_later(
    server, payload, monkeypatch, tmp_path
):
    real_open = open

    class FillsUp:
        """A file that takes 3 MiB, then reports a full disk."""

        def __init__(self, handle):
            self.handle = handle

        def write(self, data: bytes) -> int:
            if self.handle.tell() + len(data) > 3 << 20:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.handle.write(data)

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    def small_disk_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return FillsUp(handle) if "b" in mode and "r" not in mode else handle

    monkeypatch.setattr(download, "open", small_disk_open, raising=False)
    dest = tmp_path / "model.pth"

    with pytest.raises(ModelDownloadError, match="Not enough free disk space") as caught:
        download_file(server.url(), dest, sha256=sha(payload))

    assert "resumes where it stopped" in str(caught.value)
    assert 0 < part_path(dest).stat().st_size <= 3 << 20
    assert not dest.exists()


def test_proxy_from_the_environment_is_used(server, payload, monkeypatch, tmp_path):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    url = "http://models.example.org/model.pth"

    download_file(url, tmp_path / "model.pth", sha256=sha(payload))

    assert [seen.target for seen in server.requests] == [url]
    assert (tmp_path / "model.pth").read_bytes() == payload


def test_system_certificate_store_is_injected_once_for_https(fake_truststore, tmp_path):
    port = closed_port()

    for _ in range(2):
        with pytest.raises(ModelDownloadError, match="refused"):
            download_file(f"https://127.0.0.1:{port}/model.pth", tmp_path / "m.pth", timeout=5)

    assert fake_truststore == [1]


@pytest.fixture
def fake_truststore(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count injections instead of patching the process's ssl module for real."""
    calls: list[int] = []
    fake = types.ModuleType("truststore")
    fake.inject_into_ssl = lambda: calls.append(1)
    monkeypatch.setitem(sys.modules, "truststore", fake)
    monkeypatch.setattr(download, "_truststore_state", None)
    return calls


def test_untrusted_certificate_is_explained(payload, fake_truststore, tmp_path):
    pytest.importorskip("cryptography")
    tls, _ = self_signed_tls(tmp_path)
    dest = tmp_path / "models" / "model.pth"
    with (
        ModelServer(payload, tls=tls) as server,
        pytest.raises(ModelDownloadError, match="certificate could not be verified") as caught,
    ):
        download_file(server.url(), dest, timeout=5)

    assert "root certificate in the system store" in str(caught.value)
    assert fake_truststore == [1]
    assert not part_path(dest).exists()


def test_https_download_trusting_a_ca_bundle_from_the_environment(
    payload, fake_truststore, monkeypatch, tmp_path
):
    pytest.importorskip("cryptography")
    tls, certificate = self_signed_tls(tmp_path)
    # The variable a company sets for its own root certificate; requests reads it.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
    with ModelServer(payload, tls=tls) as server:
        download_file(server.url(), tmp_path / "model.pth", sha256=sha(payload))

    assert (tmp_path / "model.pth").read_bytes() == payload
