"""Errors meant for the user's eyes.

Every error that can reach a person derives from :class:`SamlabelError`. Its message is a
complete sentence that names the file (when there is one) and what is wrong with it, so the
GUI and the command line can show ``str(error)`` as is, without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class SamlabelError(Exception):
    """Base class: ``str(err)`` is a message fit to show a user."""

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        super().__init__(message)


class CheckpointError(SamlabelError):
    """A model file that cannot be used (not SAM, truncated, unsafe, mismatched keys)."""


class ImageReadError(SamlabelError):
    """An image file that cannot be read (missing, truncated, not an image, too big)."""


class AnnotationFileError(SamlabelError):
    """An annotations file that cannot be read or written."""


class ModelDownloadError(SamlabelError):
    """A model download that failed (offline, HTTP error, wrong checksum, no space)."""


class InferenceError(SamlabelError):
    """A backend that failed to load or run a model."""


class MaskSizeError(SamlabelError, ValueError):
    """A mask whose size is not its image's recorded size (e.g. the image file changed)."""
