"""A video file as a stack of RGB frames, through OpenCV's FFmpeg reader.

Seeking: ``CAP_PROP_POS_FRAMES`` makes FFmpeg jump to the keyframe before the frame and decode
forward to it. That was frame-exact on the constant-frame-rate files we tested (MPEG-4 part 2
in MP4 and AVI, Motion JPEG; ``tests/io/stacks/test_video.py`` checks every frame of a video
whose frames carry their index as a binary pattern), but variable-frame-rate recordings
(phones, screen captures) can land a frame or two off: for those, convert to a constant frame
rate first. Costs: the next frame is one decode; a few frames ahead are decoded in sequence
rather than sought; anything else is a seek (decode from the keyframe). A seek backwards
starts 15 frames earlier and caches them, so scrolling back through unseen frames seeks once
per 16 frames. Frames already seen come from the byte-bounded LRU cache, so scrolling back and
forth does not decode again.

The frame count is the container's, checked on open: if frames follow its last one (a
container that undercounts) they are counted by decoding on; if the last frames cannot be
decoded (a truncated file) the stack is shortened to the frames that can, found by a binary
search, less the last of them (at the cut FFmpeg returns the previous picture again for a
partial frame), and ``notes`` says so. An MP4 cut before its index (``moov`` at the end)
cannot be opened at all.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from samlabel.core.errors import ImageReadError
from samlabel.io.stacks.base import Stack
from samlabel.io.stacks.cache import DEFAULT_BUDGET_BYTES

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".ts", ".mts"}
)

#: Frames ahead of the decoder's position that are decoded in turn rather than sought to.
_READ_AHEAD = 16
#: Frames before a frame sought backwards that are decoded (and cached) on the way to it.
_BACKFILL = 15


class VideoStack(Stack):
    """Frame ``k`` is the video's k-th frame, ``(H, W, 3)`` uint8 RGB."""

    kind = "video"
    source_format = "video"

    def __init__(self, path: Path, uri: str, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        path = Path(path)
        if not path.is_file():
            raise ImageReadError(f"Cannot open {path}: the file does not exist.", path)
        self._capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not self._capture.isOpened():
            raise ImageReadError(f"Cannot open {path}: it is not a video OpenCV can read.", path)
        claimed = max(0, int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        notes: list[str] = []
        self._position = 0  # index of the frame the next read() returns
        first = self._decode(0)
        if first is None:
            self._capture.release()
            raise ImageReadError(f"Cannot open {path}: no frame of the video can be decoded.", path)
        if claimed == 0 or self._decode(claimed - 1) is not None:
            # Positioned after frame max(claimed, 1) - 1: count what follows, if anything.
            count = max(claimed, 1) + self._frames_beyond()
            if count > claimed:
                notes.append(f"{path}: its container claims {claimed} frames but holds {count}.")
        else:
            # At the cut FFmpeg hands back the previous picture again for the partial frame:
            # the last frame that "decodes" is not trustworthy, so it is left out too.
            count = max(1, self._last_readable(claimed) - 1)
        super().__init__(path, uri, count, budget_bytes)
        self.frame_size = (int(first.shape[0]), int(first.shape[1]))
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.notes = notes
        if count < claimed:
            self.notes.append(
                f"{path}: only the first {count} of its {claimed} frames can be decoded (the file "
                "is probably truncated); those are shown."
            )
        self.cache.put(0, first)

    def _frames_beyond(self) -> int:
        """Frames after the claimed last one (a container that undercounts), by decoding on."""
        extra = 0
        while self._capture.grab():
            extra += 1
        self._position = -_READ_AHEAD - 1  # wherever it stopped: seek next time
        return extra

    def _last_readable(self, claimed: int) -> int:
        """How many leading frames decode, by binary search (frame 0 does)."""
        good, bad = 0, claimed - 1
        while bad - good > 1:
            middle = (good + bad) // 2
            if self._decode(middle) is not None:
                good = middle
            else:
                bad = middle
        return good + 1

    def _decode(self, index: int) -> np.ndarray | None:
        """Frame ``index`` as RGB, or None if it cannot be decoded."""
        ahead = index - self._position
        if not 0 <= ahead <= _READ_AHEAD:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            self._position = index
        while self._position < index:
            if not self._capture.grab():  # skip without converting the picture
                return None
            self._position += 1
        ok, bgr = self._capture.read()
        if not ok or bgr is None:
            self._position = -_READ_AHEAD - 1  # unknown: seek next time
            return None
        self._position = index + 1
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _read(self, index: int) -> np.ndarray:
        fits = (
            self.cache.budget_bytes >= (_BACKFILL + 1) * 3 * self.frame_size[0] * self.frame_size[1]
        )
        if index < self._position - 1 and fits:
            # Going backwards: one seek costs a decode from the keyframe anyway, so start a few
            # frames earlier and keep those too; scrolling back then seeks once per _BACKFILL.
            start = max(0, index - _BACKFILL)
            for earlier in range(start, index):
                if self.cache.get(earlier) is None:
                    picture = self._decode(earlier)
                    if picture is not None and picture.shape[:2] == self.frame_size:
                        self.cache.put(earlier, picture)
        frame = self._decode(index)
        if frame is None:
            raise ImageReadError(
                f"Cannot read frame {index} of {self.path}: it cannot be decoded (the file may "
                "be damaged there).",
                self.path,
            )
        return frame

    def close(self) -> None:
        super().close()
        self._capture.release()
