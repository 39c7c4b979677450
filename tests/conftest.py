"""Shared test setup: headless Qt, private user folders, the reference fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt must not look for a display; set before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = Path(os.environ.get("SAMLABEL_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session", autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory):
    """Never touch the real user cache, models or settings folders from a test.

    Session-scoped and autouse, so it is in place before any module- or session-scoped
    fixture builds a model or an export.
    """
    base = tmp_path_factory.getbasetemp() / "user"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SAMLABEL_CACHE_DIR", str(base / "cache"))
        patch.setenv("SAMLABEL_MODELS_DIR", str(base / "models"))
        patch.setenv("SAMLABEL_CONFIG_DIR", str(base / "config"))
        yield


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The folder of reference outputs of Meta's SAM code (see its README)."""
    if not (FIXTURES_DIR / "sam_vit_random" / "checkpoint.pth").exists():
        if os.environ.get("CI"):
            pytest.fail(f"reference fixtures missing at {FIXTURES_DIR}")
        pytest.skip(f"reference fixtures missing at {FIXTURES_DIR}")
    return FIXTURES_DIR


@pytest.fixture(scope="session")
def onnx_export_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export cache for the whole test session (exporting costs seconds per model)."""
    return tmp_path_factory.getbasetemp() / "user" / "cache" / "onnx"
