"""Where ``samlabel predict`` writes its masks: checked before any work, written atomically.

``.npz`` (any letter case) holds ``masks`` (K, H, W) bool, ``scores`` (K,) and
``low_res_logits`` (K, 256, 256); ``.png`` is the best mask as a 0/255 image, or with
``every_candidate`` one PNG per candidate named ``<stem>_<i><suffix>`` (i from 1).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

from samlabel.core.errors import SamlabelError

SUFFIXES = (".npz", ".png")


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def check_output(out: Path) -> None:
    """Refuse an output path that cannot be written, before the model is loaded.

    The suffix is compared case-insensitively (``x.NPZ`` is an ``.npz`` file). A missing
    folder is created at the end, so it only has to be creatable: its nearest existing
    ancestor must be a folder that accepts new files.

    Raises:
        SamlabelError: one sentence naming the path and what to change.
    """
    if out.suffix.lower() not in SUFFIXES:
        raise SamlabelError(f"{out}: the output must end in .npz or .png.", out)
    if out.is_dir():
        raise SamlabelError(f"{out} is a folder; give a file name ending in .npz or .png.", out)
    parent = out.parent if str(out.parent) else Path(".")
    existing = _nearest_existing(parent)
    if not existing.is_dir():
        raise SamlabelError(
            f"cannot write {out}: {existing} is a file, not a folder; choose another --out.", out
        )
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise SamlabelError(
            f"cannot write {out}: the folder {existing} does not accept new files "
            f"({error.strerror or error}); choose another --out.",
            out,
        ) from None


def _npz_bytes(prediction) -> bytes:
    import io

    buffer = io.BytesIO()  # a file object: numpy then adds no second ".npz"
    np.savez_compressed(
        buffer,
        masks=prediction.masks,
        scores=prediction.scores,
        low_res_logits=prediction.low_res_logits,
    )
    return buffer.getvalue()


def _png_bytes(mask: np.ndarray, path: Path) -> bytes:
    import cv2

    ok, encoded = cv2.imencode(".png", mask.astype(np.uint8) * 255)
    if not ok:
        raise SamlabelError(f"{path}: could not encode the mask as PNG.", path)
    return encoded.tobytes()


def _write_atomically(path: Path, data: bytes) -> None:
    """Temporary file beside ``path``, then rename: a failure never leaves half a file."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def write_masks(out: Path, prediction, every_candidate: bool) -> list[Path]:
    """Write ``prediction`` to ``out`` (see the module docstring); returns the files written.

    Raises:
        SamlabelError: the file or its folder cannot be written.
    """
    written: list[Path] = []
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".npz":
            _write_atomically(out, _npz_bytes(prediction))
            return [out]
        indices = range(len(prediction.scores)) if every_candidate else [prediction.best_index()]
        for i in indices:
            path = out.with_name(f"{out.stem}_{i + 1}{out.suffix}") if every_candidate else out
            _write_atomically(path, _png_bytes(prediction.masks[i], path))
            written.append(path)
    except OSError as error:
        raise SamlabelError(f"cannot write {out}: {error.strerror or error}.", out) from None
    return written
