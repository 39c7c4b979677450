"""Meta's reference packages (``segment-anything``, ``sam2``) for parity tests.

Both import torchvision for a handful of helpers (PIL resize, tensor resize and normalise,
box NMS). torchvision's wheels are built against one exact torch and its compiled operators
do not load on the CPU build of torch the tests install, so where it is missing or broken a
small stand-in (``standin/torchvision``) provides exactly those helpers with the same
semantics. Call :func:`segment_anything` or :func:`sam2` instead of importing them directly.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

STANDIN_DIR = Path(__file__).parent / "standin"


def _real_torchvision_works() -> bool:
    try:
        import torch
        import torchvision.ops

        boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
        torchvision.ops.nms(boxes, torch.ones(1), 0.5)
    except Exception:
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        return False
    return True


def ensure_torchvision() -> None:
    """Make ``import torchvision`` give a working module: the real one, else the stand-in."""
    loaded = sys.modules.get("torchvision")
    if loaded is not None and getattr(loaded, "__file__", "").startswith(str(STANDIN_DIR)):
        return
    if _real_torchvision_works():
        return
    sys.path.insert(0, str(STANDIN_DIR))
    importlib.invalidate_caches()


def _import_or_skip(name: str) -> ModuleType:
    ensure_torchvision()
    try:
        return importlib.import_module(name)
    except ImportError as error:  # not installed: the reference comparison cannot run
        pytest.skip(f"Meta's reference package {name!r} is not installed ({error})")


def segment_anything() -> ModuleType:
    """Meta's ``segment_anything`` package (segment-anything 1.0 on PyPI)."""
    return _import_or_skip("segment_anything")


def sam2() -> ModuleType:
    """Meta's ``sam2`` package (sam2 1.1.0 on PyPI)."""
    return _import_or_skip("sam2")
