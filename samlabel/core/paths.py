"""Where samlabel keeps its files on this machine.

The folders come from platformdirs (per-user cache, data and config folders); each can be
overridden with an environment variable so tests, portable installs and labs sharing one
read-only models folder can point elsewhere:

- ``SAMLABEL_CACHE_DIR``  exported ONNX models, image embeddings, calibration results
- ``SAMLABEL_MODELS_DIR`` downloaded / imported checkpoints
- ``SAMLABEL_CONFIG_DIR`` settings
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "samlabel"


def _from_env_or(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser() if value else Path(default)


def cache_dir() -> Path:
    """Root of everything that can be rebuilt (ONNX exports, embeddings)."""
    return _from_env_or("SAMLABEL_CACHE_DIR", platformdirs.user_cache_dir(APP_NAME))


def models_dir() -> Path:
    """Folder of model checkpoints (may be read-only when shared by a lab)."""
    return _from_env_or(
        "SAMLABEL_MODELS_DIR", str(Path(platformdirs.user_data_dir(APP_NAME)) / "models")
    )


def config_dir() -> Path:
    """Folder of settings files."""
    return _from_env_or("SAMLABEL_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME))


def bundled_models_dir() -> Path | None:
    """The read-only ``models`` folder shipped inside a PyInstaller build, if there is one.

    A frozen app unpacks its data under ``sys._MEIPASS``; the build script copies a model
    (an exported ONNX folder or a checkpoint) to ``<_MEIPASS>/models``. None when not frozen
    or when the build bundled no model.
    """
    if not getattr(sys, "frozen", False):
        return None
    base = getattr(sys, "_MEIPASS", None)
    if not base:
        return None
    folder = Path(base) / "models"
    return folder if folder.is_dir() else None
