"""The live mask's pixels: fill inside, a line on the border, a halo just outside."""

from __future__ import annotations

import numpy as np

from samlabel.core.mask_outline import WHITE, outlined_mask_pixels

FILL, LINE = 0x80102030, 0xFF2040FF


def test_a_square_gets_fill_line_and_halo_and_nothing_else():
    mask = np.zeros((9, 10), bool)
    mask[2:7, 3:8] = True  # rows 2..6, columns 3..7
    pixels = outlined_mask_pixels(mask, FILL, LINE)
    assert pixels.dtype == np.uint32 and pixels.shape == mask.shape
    assert (pixels[3:6, 4:7] == FILL).all()  # the interior
    border = mask.copy()
    border[3:6, 4:7] = False
    assert (pixels[border] == LINE).all()
    halo = np.zeros_like(mask)
    halo[1:8, 2:9] = True
    halo &= ~mask
    assert (pixels[halo] == WHITE).all()
    rest = ~(mask | halo)
    assert (pixels[rest] == 0).all()


def test_a_mask_touching_the_edge_has_no_line_along_the_edge():
    mask = np.zeros((6, 6), bool)
    mask[:, :3] = True
    pixels = outlined_mask_pixels(mask, FILL, LINE)
    assert (pixels[1:5, 0] == FILL).all()  # the image edge is not the mask's border
    assert (pixels[:, 2] == LINE).all() and (pixels[:, 3] == WHITE).all()
