"""Labelling a 30,000 x 20,000 orthomosaic in crop mode: the mask lands in full-image pixels.

The image is a tiled TIFF written tile by tile (600 MP, never whole in memory), dark except
for one bright 300 x 200 field at a known place. A stand-in predictor segments the bright
region around the click in whatever picture it is given, so the saved mask is only right if
the crop was read, encoded and mapped back at the right place.
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import psutil
import pytest
import tifffile
from PySide6.QtCore import Qt

from samlabel.core.masks import Rle, decode_rle_cropped
from samlabel.inference.api import IMAGE_SIZE, LOW_RES_SIZE, ImageEmbedding, Prediction, Predictor
from tests.qt.window_helpers import click_image, key, open_window, saved_coco

HEIGHT, WIDTH, TILE = 20_000, 30_000, 1024
#: The bright field, XYXY in full-image pixels.
FIELD = (21_000, 13_000, 21_300, 13_200)


def _tiles() -> Iterator[np.ndarray]:
    x0, y0, x1, y1 = FIELD
    for ty in range(0, HEIGHT, TILE):
        for tx in range(0, WIDTH, TILE):
            tile = np.full((TILE, TILE), 40, np.uint8)
            ys, ye = max(y0 - ty, 0), min(y1 - ty, TILE)
            xs, xe = max(x0 - tx, 0), min(x1 - tx, TILE)
            if ys < ye and xs < xe:
                tile[ys:ye, xs:xe] = 230
            yield tile


class BrightRegionPredictor(Predictor):
    """Segments the bright (> 128) connected region under the first include point."""

    backend = "demo"
    model_name = "Bright regions"

    def __init__(self) -> None:
        self.encoded: list[tuple[int, int]] = []

    def encode(self, image: np.ndarray) -> ImageEmbedding:
        height, width = image.shape[:2]
        self.encoded.append((height, width))
        scale = IMAGE_SIZE / max(height, width)
        input_size = (int(height * scale + 0.5), int(width * scale + 0.5))
        bright = (image[..., 0] > 128).astype(np.uint8)
        return ImageEmbedding(
            np.zeros((1, 256, 64, 64), np.float32), (height, width), input_size, {"bright": bright}
        )

    def decode(self, embedding, points=None, box=None, mask_input=None, multimask=True):
        bright = embedding.extras["bright"]
        _, labels = cv2.connectedComponents(bright)
        mask = np.zeros(bright.shape, np.float32)
        for x, y, label in points or []:
            component = labels[int(y), int(x)]
            if label == 1 and component > 0:
                mask[labels == component] = 1.0
        in_h, in_w = embedding.input_size
        # Logits in SAM's low-res frame: the input picture's grid, 4 input pixels per cell.
        low = cv2.resize(mask, (in_w // 4, in_h // 4), interpolation=cv2.INTER_AREA)
        logits = np.full((3, LOW_RES_SIZE, LOW_RES_SIZE), -20.0, np.float32)
        logits[:, : low.shape[0], : low.shape[1]] = (low - 0.5) * 40.0
        scores = np.array([0.9, 0.8, 0.7], np.float32)
        if not multimask:
            logits, scores = logits[:1], scores[:1]
        return Prediction(scores, logits, embedding.original_size, embedding.input_size)


class RssPeak:
    """Samples this process's resident memory every 10 ms in a thread; ``peak`` in bytes."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


@pytest.fixture(scope="module")
def huge_tiff(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("huge")
    path = folder / "orthomosaic.tif"
    tifffile.imwrite(
        path,
        _tiles(),
        shape=(HEIGHT, WIDTH),
        dtype=np.uint8,
        tile=(TILE, TILE),
        compression="zlib",
        compressionargs={"level": 1},
    )
    return folder


def test_a_mask_labelled_in_a_crop_is_saved_at_its_place_in_the_full_image(
    qtbot, tmp_path: Path, huge_tiff: Path
) -> None:
    started = time.perf_counter()
    memory = RssPeak()
    predictor = BrightRegionPredictor()
    window = open_window(qtbot, tmp_path / "settings.ini", predictor)
    assert window.folders.open_folder(huge_tiff)
    c = window.controller
    qtbot.waitUntil(lambda: c.source is not None, timeout=20000)
    assert c.source.is_overview and c.source.full_size == (HEIGHT, WIDTH)
    label = window.findChild(type(window.crop_mode.label), "cropModeLabel")
    assert label.isVisible() and "overview" in label.text() and "30000 x 20000" in label.text()
    # Click the field's centre on the overview: a crop around it opens at full resolution.
    oh, ow = c.source.size
    centre_x, centre_y = (FIELD[0] + FIELD[2]) / 2, (FIELD[1] + FIELD[3]) / 2
    seen_x, seen_y = click_image(qtbot, window, centre_x * ow / WIDTH, centre_y * oh / HEIGHT)
    clicked = (seen_x * WIDTH / ow, seen_y * HEIGHT / oh)  # the click in full-image pixels
    crop = c.crop
    assert crop is not None and crop.contains(centre_x, centre_y)
    assert c.source.size == (1024, 1024) and c.source.region == crop.region
    assert label.text().startswith(f"Crop mode: SAM sees 1024 x 1024 px from x {crop.region[0]},")
    assert window.crop_mode.back_button.isVisible()
    qtbot.waitUntil(lambda: c.prompts.prediction is not None, timeout=20000)
    assert predictor.encoded == [(1024, 1024)]  # SAM saw the crop, never the overview
    key(qtbot, window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(c.document.annotations) == 1, timeout=10000)
    # The accepted mask is drawn on the crop, where it was labelled...
    qtbot.waitUntil(lambda: window.overlays.complete, timeout=5000)
    x0, y0 = crop.offset
    assert window.canvas.annotation_at(21_150 - x0, 13_100 - y0) is not None
    assert window.canvas.annotation_at(21_350 - x0, 13_100 - y0) is None
    coco = saved_coco(window)
    image = coco["images"][0]
    assert (image["width"], image["height"]) == (WIDTH, HEIGHT)
    annotation = coco["annotations"][0]
    x, y, w, h = annotation["bbox"]
    # Low-res logits are 4 crop pixels a cell: edges within 4 px.
    assert abs(x - FIELD[0]) <= 4 and abs(y - FIELD[1]) <= 4
    assert abs(x + w - FIELD[2]) <= 4 and abs(y + h - FIELD[3]) <= 4
    assert abs(annotation["area"] - 300 * 200) <= 0.05 * 300 * 200
    segmentation = annotation["segmentation"]
    rle = Rle(tuple(segmentation["size"]), segmentation["counts"].encode())
    cropped, (left, top) = decode_rle_cropped(rle)
    assert rle.size == (HEIGHT, WIDTH)
    assert cropped[13_100 - top, 21_150 - left]
    px, py, plabel = annotation["samlabel_prompts"]["points"][0]
    # The prompt saved is the click, mapped overview -> crop -> full image.
    assert px == pytest.approx(clicked[0]) and py == pytest.approx(clicked[1]) and plabel == 1
    # Back to the overview: the crop is left and its status says so.
    window.crop_mode.back_button.click()
    assert c.crop is None and c.source.is_overview and "overview" in label.text()
    # ... and on the overview, at its reduced place.
    qtbot.waitUntil(lambda: window.overlays.complete, timeout=5000)
    assert window.canvas.annotation_at(21_150 * ow / WIDTH, 13_100 * oh / HEIGHT) is not None
    assert window.canvas.annotation_at(20_000 * ow / WIDTH, 13_100 * oh / HEIGHT) is None
    memory.stop()
    grown_mb = (memory.peak - memory.start) / 2**20
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nhuge image {WIDTH} x {HEIGHT}: labelled in a crop in "
        f"{time.perf_counter() - started:.1f} s; resident memory rose by at most "
        f"{grown_mb:.0f} MB during the test (from {memory.start / 2**20:.0f} MB); max RSS of "
        f"the test process so far {max_rss_mb:.0f} MB. The image alone would be "
        f"{HEIGHT * WIDTH / 2**20:.0f} MB grey, {3 * HEIGHT * WIDTH / 2**20:.0f} MB as RGB."
    )
    assert grown_mb < 400
