"""Stacks: volumes and sequences read lazily, one frame at a time, within a memory budget.

- :func:`open_stack` -> :class:`Stack` (``len()``, ``frame(i)``, ``frame_size``, ``dtype``,
  ``default_window`` for the whole stack, ``spacing``/``affine`` where the format has them,
  ``uri`` and ``key(i) = (uri, i)``);
- :func:`stack_kind` says whether a path is a stack and which kind; :func:`list_items` gives a
  folder's image list with each stack as one item.

Readers: a DICOM series folder (:class:`DicomSeries`), a multi-page TIFF (:class:`TiffStack`),
a NIfTI volume (:class:`NiftiStack`), a folder of numbered frames (:class:`FramesFolder`) and a
video file (:class:`VideoStack`). Every failure is an
:class:`samlabel.core.errors.ImageReadError` naming the file.
"""

from samlabel.io.stacks.base import FrameKey, Stack
from samlabel.io.stacks.cache import DEFAULT_BUDGET_BYTES, FrameCache
from samlabel.io.stacks.detect import KINDS, list_items, open_stack, stack_kind, stack_uri
from samlabel.io.stacks.dicom_series import DicomSeries
from samlabel.io.stacks.frames_folder import FramesFolder, numbered_frames
from samlabel.io.stacks.nifti_stack import NiftiStack
from samlabel.io.stacks.tiff_stack import TiffStack
from samlabel.io.stacks.video_stack import VIDEO_EXTENSIONS, VideoStack

__all__ = [
    "DEFAULT_BUDGET_BYTES",
    "KINDS",
    "VIDEO_EXTENSIONS",
    "DicomSeries",
    "FrameCache",
    "FrameKey",
    "FramesFolder",
    "NiftiStack",
    "Stack",
    "TiffStack",
    "VideoStack",
    "list_items",
    "numbered_frames",
    "open_stack",
    "stack_kind",
    "stack_uri",
]
