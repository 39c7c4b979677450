"""Running a SAM model: the Predictor interface, backends, transforms, caches, downloads.

No PySide6 here; torch only inside the torch backend and the ONNX exporter.

This package's root is the facade the window uses (with :mod:`samlabel.inference.api`): the
names in :data:`__all__` are what ``samlabel.qt`` may take from inference, and the import
contracts in pyproject.toml hold it to that. The names other than the api's are imported on
first use, so ``import samlabel.inference.api`` stays as light as it was.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from samlabel.inference.api import ImageEmbedding, Prediction, Predictor

if TYPE_CHECKING:
    from pathlib import Path

    from samlabel.inference.crops import CROP_SIDE, Crop, crop_around, read_crop
    from samlabel.inference.download import DownloadCancelled
    from samlabel.inference.embedding_cache import EmbeddingCache, EmbeddingKey, model_key
    from samlabel.inference.loader import BACKENDS, torch_available
    from samlabel.inference.model_folder import CHECKPOINT_SUFFIXES
    from samlabel.inference.model_store import ModelEntry, ModelStore
    from samlabel.inference.onnx_folder import MANIFEST_NAME
    from samlabel.inference.propagation_backend import PropagationEngine

#: Facade name -> the module that defines it (imported when the name is first used).
_LAZY = {
    "BACKENDS": "loader",
    "torch_available": "loader",
    "CHECKPOINT_SUFFIXES": "model_folder",
    "CROP_SIDE": "crops",
    "Crop": "crops",
    "crop_around": "crops",
    "read_crop": "crops",
    "DownloadCancelled": "download",
    "EmbeddingCache": "embedding_cache",
    "EmbeddingKey": "embedding_cache",
    "model_key": "embedding_cache",
    "ModelEntry": "model_store",
    "ModelStore": "model_store",
    "MANIFEST_NAME": "onnx_folder",
}

__all__ = [
    "BACKENDS",
    "CHECKPOINT_SUFFIXES",
    "CROP_SIDE",
    "MANIFEST_NAME",
    "Crop",
    "DownloadCancelled",
    "EmbeddingCache",
    "EmbeddingKey",
    "ImageEmbedding",
    "ModelEntry",
    "ModelStore",
    "Prediction",
    "Predictor",
    "crop_around",
    "load_predictor",
    "model_key",
    "propagation_engine",
    "read_crop",
    "torch_available",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def load_predictor(path: str | Path, backend: str = "auto", **options) -> Predictor:
    """Load a SAM / MobileSAM checkpoint file or a folder of exported ONNX files.

    See :func:`samlabel.inference.loader.load_predictor`.
    """
    from samlabel.inference.loader import load_predictor as _load

    return _load(path, backend=backend, **options)


def propagation_engine(
    checkpoint: str | Path,
    predictor: Predictor | None = None,
    cache: EmbeddingCache | None = None,
) -> PropagationEngine:
    """SAM 2 propagation for the stacks of a folder: the checkpoint's video model (memory
    in torch) with frames encoded by ``predictor``'s backend (the predictor
    ``load_predictor(checkpoint)`` returned: ONNX Runtime or OpenVINO on a CPU) and kept in
    ``cache``. Then ``engine.stack_propagator(stack)`` or ``engine.propagator(...)`` per
    stack. Takes seconds (loads the checkpoint): call it off the GUI thread.

    See :func:`samlabel.inference.propagation_backend.open_propagation_engine` (raises
    CheckpointError for a file without SAM 2's video modules, InferenceError for a SAM 1
    predictor).
    """
    from samlabel.inference.propagation_backend import open_propagation_engine

    return open_propagation_engine(checkpoint, predictor, cache)
