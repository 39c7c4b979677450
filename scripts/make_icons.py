"""Draw samlabel's application icon and write it in every format packaging needs.

The mark: a rounded-square slate tile holding a translucent teal mask blob with a light
outline (what SAM returns) and a green click point with a white ring inside it (the prompt
that produced it). The same palette as ``samlabel/assets/icons/app.svg`` and the dark theme.

Each size is drawn on its own, supersampled (8x; 4x above 128 px) and reduced with a Lanczos
filter, so the small sizes get outlines thick enough to stay visible instead of a blurred copy
of the big one. Output (deterministic: running it twice gives the same bytes)::

    resources/samlabel.ico       16, 24, 32, 48, 64, 128, 256 px (Windows)
    resources/samlabel.icns      32 ... 1024 px (macOS)
    resources/samlabel.png       512 px
    resources/samlabel-256.png   256 px (Linux desktop files, the Qt window icon)

Usage: ``python scripts/make_icons.py [--out FOLDER]``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
SUPERSAMPLE = 8

# Palette (RGBA): calm slate tile, teal mask, green click point.
TILE_TOP = (44, 62, 86, 255)
TILE_BOTTOM = (27, 36, 51, 255)
TILE_EDGE = (88, 120, 156, 255)
MASK_FILL = (64, 196, 190, 120)
MASK_EDGE = (232, 246, 245, 255)
POINT_FILL = (46, 204, 113, 255)
POINT_RING = (255, 255, 255, 255)

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)


def _blob_outline(cx: float, cy: float, radius: float, steps: int = 720) -> list[tuple]:
    """Closed organic outline (x right, y down) around ``(cx, cy)``: a circle with low harmonics.

    The harmonics give it the lumpy look of a segmentation mask instead of a plain ellipse.
    """
    points = []
    for i in range(steps):
        theta = 2.0 * math.pi * i / steps
        r = radius * (
            1.0
            + 0.13 * math.sin(2.0 * theta + 0.6)
            + 0.07 * math.cos(3.0 * theta - 0.4)
            + 0.03 * math.sin(5.0 * theta + 1.1)
        )
        points.append((cx + r * math.cos(theta) * 1.08, cy + r * math.sin(theta) * 0.92))
    return points


def _coverage(size: int, outline: list[tuple]) -> Image.Image:
    """``size`` x ``size`` L image: 255 inside the closed ``outline``, 0 outside."""
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).polygon(outline, fill=255)
    return mask


def _vertical_gradient(size: int, top: tuple, bottom: tuple) -> Image.Image:
    """``size`` x ``size`` RGBA image fading from ``top`` (row 0) to ``bottom``."""
    column = Image.new("RGBA", (1, size))
    for y in range(size):
        t = y / max(size - 1, 1)
        column.putpixel(
            (0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    return column.resize((size, size), Image.Resampling.NEAREST)


def draw_icon(size: int) -> Image.Image:
    """The icon at ``size`` x ``size`` pixels, RGBA uint8 with a transparent corner area."""
    # 4x is plenty once the icon is large, and keeps the 1024 px canvas at 4096 px.
    supersample = SUPERSAMPLE if size <= 128 else 4
    big = size * supersample
    # Strokes are a fraction of the size, but never thinner than ~1.3 output pixels, so
    # the outline survives at 16 px.
    unit = big / 100.0
    min_px = 1.3 * supersample

    # Tile: rounded square with a 1-unit margin, gradient fill, thin lighter edge.
    margin = round(3 * unit) if size >= 32 else round(0.5 * unit)
    corner = round(22 * unit)
    shape = Image.new("L", (big, big), 0)
    ImageDraw.Draw(shape).rounded_rectangle(
        (margin, margin, big - 1 - margin, big - 1 - margin), radius=corner, fill=255
    )
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    canvas.paste(_vertical_gradient(big, TILE_TOP, TILE_BOTTOM), (0, 0), shape)
    edge = max(round(1.6 * unit), round(min_px * 0.6)) if size >= 32 else 0
    if edge:
        ImageDraw.Draw(canvas).rounded_rectangle(
            (margin, margin, big - 1 - margin, big - 1 - margin),
            radius=corner,
            outline=TILE_EDGE,
            width=edge,
        )

    # Mask: translucent fill, then a light outline drawn as the ring between a slightly
    # bigger and a slightly smaller copy of the blob (a polyline with a wide pen leaves
    # notches at its many short segments).
    stroke = max(3.2 * unit, min_px)
    radius = big * 0.30
    outer = _coverage(big, _blob_outline(big * 0.5, big * 0.53, radius + stroke / 2))
    inner = _coverage(big, _blob_outline(big * 0.5, big * 0.53, radius - stroke / 2))
    fill = Image.new("RGBA", (big, big), MASK_FILL)
    fill.putalpha(inner.point(lambda v: v * MASK_FILL[3] // 255))
    canvas = Image.alpha_composite(canvas, fill)
    ring_layer = Image.new("RGBA", (big, big), MASK_EDGE)
    ring_layer.putalpha(ImageChops.subtract(outer, inner))
    canvas = Image.alpha_composite(canvas, ring_layer)

    # Click point: green dot with a white ring, a little off-centre like a real click.
    draw = ImageDraw.Draw(canvas)
    px, py = big * 0.44, big * 0.50
    ring = max(9.5 * unit, 2.6 * supersample)
    dot = ring - max(2.6 * unit, min_px * 0.8)
    draw.ellipse((px - ring, py - ring, px + ring, py + ring), fill=POINT_RING)
    draw.ellipse((px - dot, py - dot, px + dot, py + dot), fill=POINT_FILL)

    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def write_icons(out: Path) -> list[Path]:
    """Write the .ico, .icns and .png files into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    images = {s: draw_icon(s) for s in sorted({*ICO_SIZES, *ICNS_SIZES})}
    written = []

    ico = out / "samlabel.ico"
    largest_ico = images[max(ICO_SIZES)]
    largest_ico.save(
        ico,
        format="ICO",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES if s != max(ICO_SIZES)],
    )
    written.append(ico)

    icns = out / "samlabel.icns"
    images[max(ICNS_SIZES)].save(icns, format="ICNS", append_images=[images[s] for s in ICNS_SIZES])
    written.append(icns)

    for name, size in (("samlabel.png", 512), ("samlabel-256.png", 256)):
        path = out / name
        images[size].save(path, format="PNG", optimize=True)
        written.append(path)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "resources", help="output folder")
    args = parser.parse_args()
    for path in write_icons(args.out):
        print(f"{path} ({path.stat().st_size / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
