"""Running a SAM model: the Predictor interface, backends, transforms, caches, downloads.

No PySide6 here; torch only inside the torch backend and the ONNX exporter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from samlabel.inference.api import ImageEmbedding, Prediction, Predictor

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["ImageEmbedding", "Prediction", "Predictor", "load_predictor"]


def load_predictor(path: str | Path, backend: str = "auto", **options) -> Predictor:
    """Load a SAM / MobileSAM checkpoint file or a folder of exported ONNX files.

    See :func:`samlabel.inference.loader.load_predictor`.
    """
    from samlabel.inference.loader import load_predictor as _load

    return _load(path, backend=backend, **options)
