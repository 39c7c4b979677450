"""An on-disk cache of image embeddings, so going back to an image is instant.

One ``.npz`` file per (model, image content, window, crop) under
``cache_dir()/embeddings/<model>/``. Keys name only what the embedding depends on: the
model's sha256 and precision (:func:`model_key`), the sha256 of the image file's bytes (an
edited image is encoded again), and the preprocessing (the display window of a 16-bit image,
the crop region of a huge one). No machine path or modification time is part of a key, so a
cache filled on one machine (``samlabel embed``, a cluster) serves the window on another.
Files are written to a temporary name and renamed, so a crash never leaves a half-written
embedding that would be read back later.

Only ``features``, ``original_size`` and ``input_size`` are stored (plus, for SAM 2, the two
high-resolution maps and the ``stretched`` flag): the backend ``extras`` are optional
precomputations the decoder recomputes when missing.

An embedding is 4 MiB, so 2,000 images would fill 8 GiB: the cache keeps at most
``max_bytes`` (default :data:`DEFAULT_MAX_BYTES`) and forgets the least recently used files
first (a read touches the file's modification time).

A cache never stops the work: an entry that is unreadable, truncated, of the wrong shape or
dtype, or holds NaN / infinite values is deleted and reported as missing (so it is encoded
again and rewritten); a folder that refuses writes (read-only, a file in the way, disk full)
is said once in the log and in :attr:`EmbeddingCache.problem`, and the last
:data:`MEMORY_ITEMS` embeddings are then kept in memory instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from samlabel.core.paths import cache_dir
from samlabel.inference.api import IMAGE_SIZE, ImageEmbedding

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddingKey:
    """What an embedding depends on.

    Attributes:
        model_id: identifies the weights and precision (:func:`model_key`).
        image_sha256: sha256 (hex) of the image file's bytes.
        window: the display window used to turn a 16-bit image into what the encoder saw, or
            None for 8-bit images.
        region: ``(x0, y0, x1, y1)`` of the crop encoded (huge images), None for the whole
            image.
    """

    model_id: str
    image_sha256: str
    window: tuple[float, float] | None = None
    region: tuple[int, int, int, int] | None = None

    @classmethod
    def for_file(
        cls,
        model_id: str,
        path: str | Path,
        window: tuple[float, float] | None = None,
        region: tuple[int, int, int, int] | None = None,
    ) -> EmbeddingKey:
        """The key of ``path`` as it is on disk now (raises OSError when it is missing)."""
        return cls(model_id, content_sha256(path), window, region)

    @classmethod
    def for_bytes(
        cls,
        model_id: str,
        data: bytes,
        window: tuple[float, float] | None = None,
        region: tuple[int, int, int, int] | None = None,
    ) -> EmbeddingKey:
        """The key of an image file whose bytes are ``data`` (read elsewhere, e.g. a cluster)."""
        return cls(model_id, hashlib.sha256(data).hexdigest(), window, region)

    def digest(self) -> str:
        """A file-name-safe hash of the image part of the key."""
        window = None if self.window is None else tuple(float(v) for v in self.window)
        text = f"{self.image_sha256}\0{window}"
        if self.region is not None:
            text += f"\0{tuple(int(v) for v in self.region)}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


#: (resolved path, size, mtime_ns) -> sha256 of the file: hash each image version once per
#: process (a memo of this process only, never part of a key).
_CONTENT_MEMO: OrderedDict[tuple[str, int, int], str] = OrderedDict()
_CONTENT_MEMO_ITEMS = 4096
_CONTENT_MEMO_LOCK = threading.Lock()


def content_sha256(path: str | Path) -> str:
    """sha256 (hex) of the bytes of ``path`` (raises OSError when it cannot be read)."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    memo_key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _CONTENT_MEMO_LOCK:
        known = _CONTENT_MEMO.get(memo_key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    with open(resolved, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    value = digest.hexdigest()
    with _CONTENT_MEMO_LOCK:
        _CONTENT_MEMO[memo_key] = value
        while len(_CONTENT_MEMO) > _CONTENT_MEMO_ITEMS:
            _CONTENT_MEMO.popitem(last=False)
    return value


def model_key(model_path: str | Path, precision: str = "fp32") -> str:
    """The ``model_id`` of embeddings computed by the model at ``model_path``.

    ``sha256:<digest of the checkpoint>`` (for an exported ONNX folder, the digest of the
    checkpoint it came from, else of its encoder file), plus ``:<precision>`` when not fp32
    (a bf16 embedding differs from an fp32 one by up to 2% and must not stand in for it).
    Every program that reads or writes the cache (the window, ``samlabel embed``,
    ``samlabel auto``, cluster workers) names the model through this function.
    """
    from samlabel.inference.onnx_export import checkpoint_sha256
    from samlabel.inference.onnx_folder import open_onnx_folder

    path = Path(model_path)
    if path.is_dir():
        folder = open_onnx_folder(path, check=False)
        digest = folder.checkpoint_sha256 or content_sha256(folder.files["encoder"])
    else:
        digest = checkpoint_sha256(path)
    return f"sha256:{digest}" if precision == "fp32" else f"sha256:{digest}:{precision}"


#: Default size limit of the cache (about 500 embeddings).
DEFAULT_MAX_BYTES = 2 * 2**30
#: Check the size limit after this many writes (a folder scan costs a few milliseconds).
PRUNE_EVERY = 16
#: Embeddings kept in memory when the cache folder refuses writes (4 MiB each).
MEMORY_ITEMS = 16
#: ``features`` of every stored embedding: ``(1, 256, 64, 64)`` float32.
FEATURES_SHAPE = (1, 256, IMAGE_SIZE // 16, IMAGE_SIZE // 16)


def _entry_problem(features: np.ndarray, original: tuple, input_size: tuple) -> str | None:
    """Why a stored entry cannot be an embedding of SAM's, or None when it is sound."""
    if features.dtype != np.float32 or features.shape != FEATURES_SHAPE:
        return f"features are {features.dtype} {features.shape}, not float32 {FEATURES_SHAPE}"
    if len(original) != 2 or len(input_size) != 2 or min(original) < 1 or min(input_size) < 1:
        return f"sizes {original} / {input_size} are not two positive numbers"
    if max(input_size) > IMAGE_SIZE:
        return f"input size {input_size} exceeds {IMAGE_SIZE}"
    if not np.isfinite(features).all():
        return "features hold NaN or infinite values"
    return None


def _model_folder_name(model_id: str) -> str:
    return hashlib.sha256(model_id.encode("utf-8")).hexdigest()[:16]


class EmbeddingCache:
    """Stores and loads :class:`ImageEmbedding` values by :class:`EmbeddingKey`.

    Safe to use from one writer thread and readers in other threads: files appear atomically.
    """

    def __init__(self, root: str | Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "embeddings"
        self.max_bytes = max_bytes
        self._writes = 0
        #: Why the folder does not take new embeddings (a sentence to show), or None.
        self.problem: str | None = None
        self._memory: OrderedDict[Path, ImageEmbedding] = OrderedDict()
        self._lock = threading.Lock()

    def path_for(self, key: EmbeddingKey) -> Path:
        """Where the embedding of ``key`` is (or would be) stored."""
        return self.root / _model_folder_name(key.model_id) / f"{key.digest()}.npz"

    def get(self, key: EmbeddingKey) -> ImageEmbedding | None:
        """The stored embedding, or None when missing or damaged (a cache never raises).

        A damaged entry (unreadable, truncated, wrong shape or dtype, NaN / infinite values)
        is deleted, so the embedding computed next replaces it.
        """
        path = self.path_for(key)
        with self._lock:
            remembered = self._memory.get(path)
            if remembered is not None:
                self._memory.move_to_end(path)
                return remembered
        try:
            # Our own handle: numpy leaks its file when the zip directory is damaged.
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                features = np.asarray(data["features"])
                original = tuple(int(v) for v in np.asarray(data["original_size"]).ravel())
                input_size = tuple(int(v) for v in np.asarray(data["input_size"]).ravel())
                # SAM 2: the two high-resolution maps are part of the embedding.
                high_res = tuple(
                    np.array(data[name], dtype=np.float32)
                    for name in ("high_res_s0", "high_res_s1")
                    if name in data
                )
                stretched = bool(data["stretched"]) if "stretched" in data else False
        except FileNotFoundError:
            return None
        except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as error:
            self._discard(path, f"unreadable ({type(error).__name__})")
            return None
        problem = _entry_problem(features, original, input_size)
        if problem is not None:
            self._discard(path, problem)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return ImageEmbedding(
            features,
            original,
            input_size,
            high_res_features=high_res,
            stretched=stretched,  # type: ignore[arg-type]
        )

    def _discard(self, path: Path, why: str) -> None:
        log.warning("Discarded the damaged cached embedding %s (%s); encoding again.", path, why)
        with contextlib.suppress(OSError):
            path.unlink()

    def put(self, key: EmbeddingKey, embedding: ImageEmbedding) -> Path | None:
        """Store ``embedding``; returns its path, or None when the disk refused.

        When the disk refuses, the embedding is kept in memory (the last
        :data:`MEMORY_ITEMS`), and :attr:`problem` says why, once in the log.
        """
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    np.savez(
                        handle,
                        features=np.asarray(embedding.features, dtype=np.float32),
                        original_size=np.asarray(embedding.original_size, dtype=np.int64),
                        input_size=np.asarray(embedding.input_size, dtype=np.int64),
                        **_sam2_arrays(embedding),
                    )
                os.replace(tmp_name, path)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
        except OSError as error:
            self._refused(error)
            with self._lock:
                # Without the backend's extras (8 to 16 MB per embedding, made again at the
                # first click), as an embedding read back from the disk would come.
                self._memory[path] = replace(embedding, extras={})
                self._memory.move_to_end(path)
                while len(self._memory) > MEMORY_ITEMS:
                    self._memory.popitem(last=False)
            return None
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            self.prune()
        return path

    def _refused(self, error: OSError) -> None:
        if self.problem is not None:
            return
        reason = error.strerror or str(error)
        self.problem = (
            f"Image embeddings cannot be cached in {self.root} ({reason}); they are kept in "
            "memory for this session only. Set SAMLABEL_CACHE_DIR to a writable folder."
        )
        log.warning("%s", self.problem)

    def prune(self) -> int:
        """Delete the least recently used files until the cache fits ``max_bytes``.

        Returns the number of files deleted.
        """
        entries = []
        files = self.root.glob("*/*.npz") if self.root.is_dir() else ()
        for file in files:
            with contextlib.suppress(OSError):
                stat = file.stat()
                entries.append((stat.st_mtime_ns, stat.st_size, file))
        total = sum(size for _, size, _ in entries)
        deleted = 0
        for _, size, file in sorted(entries):
            if total <= self.max_bytes:
                break
            with contextlib.suppress(OSError):
                file.unlink()
                total -= size
                deleted += 1
        return deleted


def _sam2_arrays(embedding: ImageEmbedding) -> dict[str, np.ndarray]:
    """The SAM 2 parts of an embedding to store (none for SAM 1)."""
    if not embedding.high_res_features:
        return {}
    s0, s1 = embedding.high_res_features
    return {
        "high_res_s0": np.asarray(s0, dtype=np.float32),
        "high_res_s1": np.asarray(s1, dtype=np.float32),
        "stretched": np.asarray(embedding.stretched),
    }
