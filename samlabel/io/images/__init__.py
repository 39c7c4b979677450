"""The one image reader of samlabel: every part (window, engine, exporters, command line)
reads through it, so the pixels shown, the pixels SAM sees and the coordinates saved are in
one upright frame.

- :func:`read_image` -> :class:`LoadedImage` (EXIF/TIFF orientation applied once, here);
- :func:`to_display_rgb` -> ``(H, W, 3)`` uint8, through a :class:`~samlabel.core.windowing.Window`;
- :func:`read_image_size` -> upright ``(H, W)`` from the header;
- :func:`read_overview` -> the whole page reduced, within memory, for huge images;
  :func:`needs_tiled_view` says when a page needs it;
- :func:`list_images` -> the image files of a folder, naturally sorted.

Every failure is a :class:`samlabel.core.errors.ImageReadError` naming the file.
"""

from samlabel.core.windowing import Window, apply_window, auto_window
from samlabel.io.images.display import to_display_rgb
from samlabel.io.images.folder import list_images, natural_key
from samlabel.io.images.model import (
    QT_MAX_SIDE,
    LoadedImage,
    Region,
    needs_tiled_view,
    pixel_limit,
)
from samlabel.io.images.orientation import apply_orientation, oriented_size, region_to_stored
from samlabel.io.images.overview import read_overview, resize_area
from samlabel.io.images.reader import read_image, read_image_size
from samlabel.io.images.sniff import SUPPORTED_EXTENSIONS, detect_format

__all__ = [
    "QT_MAX_SIDE",
    "SUPPORTED_EXTENSIONS",
    "LoadedImage",
    "Region",
    "Window",
    "apply_orientation",
    "apply_window",
    "auto_window",
    "detect_format",
    "list_images",
    "natural_key",
    "needs_tiled_view",
    "oriented_size",
    "pixel_limit",
    "read_image",
    "read_image_size",
    "read_overview",
    "region_to_stored",
    "resize_area",
    "to_display_rgb",
]
