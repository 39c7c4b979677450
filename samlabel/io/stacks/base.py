"""What every stack is: a sequence of same-sized frames read lazily, with one window.

Frames are ``(H, W)`` grey or ``(H, W, 3)`` RGB arrays, row 0 at the top, column 0 at the left,
of one dtype for the whole stack (uint8, uint16 or float32, as
:func:`samlabel.io.images.read_image` gives). Frame indices are 0-based. A frame is known to
the rest of samlabel by its key ``(stack uri, index)``.

``affine`` (where the format has one) maps ``(column, row, frame, 1)`` of the frames as shown
to RAS+ world millimetres (x to the patient's right, y anterior, z superior), NIfTI's
convention; a label map written on the same grid with it overlays the source in ITK-SNAP or
3D Slicer.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from samlabel.core.errors import ImageReadError
from samlabel.core.windowing import Window, auto_window
from samlabel.io.images.model import LoadedImage
from samlabel.io.stacks.cache import DEFAULT_BUDGET_BYTES, FrameCache

#: How many frames, spread over the stack, choose its automatic window.
_WINDOW_SAMPLE_FRAMES = 5

FrameKey = tuple[str, int]


class Stack:
    """A lazily read sequence of frames; subclasses implement :meth:`_read`.

    Attributes:
        path: the file or folder the stack comes from.
        uri: its stable name: the path relative to the annotations folder, forward slashes.
        kind: ``"dicom-series"``, ``"tiff"``, ``"nifti"``, ``"frames"`` or ``"video"``.
        frame_size: ``(H, W)`` of every frame.
        spacing: ``(column, row, frame)`` spacing in millimetres, or None.
        affine: 4 x 4 float64 (see the module docstring), or None.
        inverted: low values are shown white (DICOM MONOCHROME1, TIFF min-is-white).
        notes: sentences about what was chosen or left out while opening (another series in
            the folder, a slice of another size, a truncated video); empty when all is well.
    """

    kind = "stack"
    source_format = "stack"

    def __init__(
        self, path: Path, uri: str, count: int, budget_bytes: int = DEFAULT_BUDGET_BYTES
    ) -> None:
        self.path = Path(path)
        self.uri = uri
        self._count = int(count)
        self.frame_size: tuple[int, int] = (0, 0)
        self.spacing: tuple[float, float, float] | None = None
        self.affine: np.ndarray | None = None
        self.inverted = False
        self.notes: list[str] = []
        self.cache = FrameCache(budget_bytes)
        self._lock = threading.Lock()  # one decoder state (file handle, video position)
        self._window: Window | None = None
        self._window_known = False
        self._dtype: np.dtype | None = None

    # -------------------------------------------------------------- reading
    def __len__(self) -> int:
        return self._count

    def key(self, index: int) -> FrameKey:
        """``(uri, index)``: the frame's name for caches and records."""
        return (self.uri, self._checked(index))

    def frame_file(self, index: int) -> tuple[Path, int]:
        """``(file, place in it)`` holding frame ``index``: what an on-disk cache of frame
        embeddings keys on (with the file's size and mtime), e.g. a DICOM slice's own file
        and 0, or the video file and the frame index."""
        return self.path, self._checked(index)

    def _checked(self, index: int) -> int:
        index = int(index)
        if not 0 <= index < self._count:
            raise ImageReadError(
                f"Cannot read frame {index} of {self.path}: it has frames 0 to {self._count - 1}.",
                self.path,
            )
        return index

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based) as a read-only ``(H, W)`` or ``(H, W, 3)`` array.

        Raises:
            ImageReadError: no such frame, or it cannot be decoded; the message names the
                file and the frame.
        """
        index = self._checked(index)
        cached = self.cache.get(index)
        if cached is not None:
            return cached
        with self._lock:
            try:
                pixels = self._read(index)
            except ImageReadError:
                raise
            except MemoryError as err:
                raise ImageReadError(
                    f"Cannot read frame {index} of {self.path}: not enough memory.", self.path
                ) from err
            except Exception as err:  # decoders raise many types for damaged data
                detail = str(err) or type(err).__name__
                raise ImageReadError(
                    f"Cannot read frame {index} of {self.path}: the data is damaged or "
                    f"truncated ({detail}).",
                    self.path,
                ) from err
        if pixels.shape[:2] != self.frame_size:
            raise ImageReadError(
                f"Cannot read frame {index} of {self.path}: it is {pixels.shape[1]}x"
                f"{pixels.shape[0]} pixels, the stack's frames are {self.frame_size[1]}x"
                f"{self.frame_size[0]}.",
                self.path,
            )
        self.cache.put(index, pixels)
        return pixels

    def _read(self, index: int) -> np.ndarray:
        raise NotImplementedError

    @property
    def dtype(self) -> np.dtype:
        """The dtype of every frame (uint8, uint16 or float32)."""
        if self._dtype is None:
            self._dtype = self.frame(0).dtype
        return self._dtype

    # -------------------------------------------------------------- window
    def _file_window(self) -> Window | None:
        """The window the file names (DICOM centre/width), if any."""
        return None

    @property
    def default_window(self) -> Window | None:
        """One window for the whole stack: the file's own, else a percentile window over a
        few frames spread through it; None for 8-bit data (shown as stored)."""
        if not self._window_known:
            window = self._file_window()
            if window is None and self.dtype != np.uint8:
                picks = np.linspace(0, self._count - 1, min(self._count, _WINDOW_SAMPLE_FRAMES))
                samples = [self.frame(int(i)).reshape(-1)[::7] for i in np.unique(picks.round())]
                window = auto_window(np.concatenate(samples))
            self._window, self._window_known = window, True
        return self._window

    def loaded(self, index: int) -> LoadedImage:
        """Frame ``index`` as a :class:`LoadedImage` with the stack's window, ready for
        :func:`samlabel.io.images.to_display_rgb`."""
        pixels = self.frame(index)
        height, width = self.frame_size
        return LoadedImage(
            path=self.path,
            pixels=pixels,
            mode=f"{self.kind} frame {index + 1} of {self._count}",
            bit_depth=pixels.dtype.itemsize * 8,
            default_window=self.default_window,
            source_format=self.source_format,
            page=index,
            page_count=self._count,
            full_size=(height, width),
            region=(0, 0, width, height),
            inverted=self.inverted,
        )

    # ------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Release the file handles and the cached frames."""
        self.cache.clear()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        h, w = self.frame_size
        return f"<{type(self).__name__} {self.uri!r}: {self._count} frames of {w}x{h}>"
