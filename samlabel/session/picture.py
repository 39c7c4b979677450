"""What the user looks at and SAM encodes: an image, a huge image's overview or crop, a window.

Pure functions the session uses for its picture states (no Qt, no state here):

- A huge image (:func:`samlabel.io.images.needs_tiled_view`: a side above 32,767 px, which Qt
  cannot draw, or more pixels than the reader's limit) opens as an overview. A click on the
  overview chooses where to work: the :data:`~samlabel.inference.crops.CROP_SIDE` px square
  around it is read at native resolution (TIFF reads only its tiles), shown, and encoded on
  its own (its embedding cached under a key holding the region). Accepting maps the mask and
  prompts back into whole-image pixels, so the document stores full-size RLE.
- A >8-bit, float or DICOM image can be shown through another window/level; SAM then sees
  that same picture (its embedding cached under a key holding the window).
"""

from __future__ import annotations

from dataclasses import replace

from samlabel.core.windowing import Window
from samlabel.inference.crops import Crop, crop_around, read_crop
from samlabel.io.images import to_display_rgb
from samlabel.session.source import SourceImage


def crop_of_overview(
    overview: SourceImage, x: float, y: float, side: int
) -> tuple[SourceImage, Crop, tuple[float, float]]:
    """Read the ``side`` px crop around overview pixel ``(x, y)`` at native resolution.

    Returns the crop's picture, the crop, and the clicked point in crop pixels.
    Raises :class:`~samlabel.core.errors.SamlabelError` naming the file when it cannot be read.
    """
    height, width = overview.full_size
    oh, ow = overview.size
    full_x, full_y = x * width / ow, y * height / oh
    crop = crop_around(full_x, full_y, (height, width), side)
    window = overview.window or (
        overview.loaded.default_window if overview.loaded is not None else None
    )
    rgb, loaded = read_crop(overview.path, crop, window)
    source = SourceImage(
        overview.path,
        rgb,
        f"{loaded.mode}, crop of {width} x {height}",
        loaded if loaded.default_window is not None else None,
        window=overview.window,
        full_size=(height, width),
        region=crop.region,
    )
    x0, y0 = crop.offset
    return source, crop, (full_x - x0, full_y - y0)


def windowed(source: SourceImage, window: Window) -> SourceImage:
    """``source`` shown through ``window`` (needs ``source.loaded``, the stored values)."""
    if source.loaded is None:
        raise ValueError(f"{source.path.name} has no stored values to window")
    rgb = to_display_rgb(source.loaded, window)
    return replace(source, display=rgb, window=window)


def picture_to_encode(source: SourceImage) -> SourceImage | None:
    """What the encoder is given for ``source``: None for the file's own picture (its plain
    cache keys), else ``source`` itself (another window, or a crop: keyed by them)."""
    default = source.loaded is not None and source.window == source.loaded.default_window
    if source.region is None and (source.window is None or default):
        return None
    return source
