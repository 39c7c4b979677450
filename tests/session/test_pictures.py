"""Picture states without Qt: a huge image's overview and crops, and window/level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from samlabel.core.windowing import Window
from samlabel.session import source
from samlabel.session.work import EncodeRequest, LoadRequest
from tests.qt.fakes import FakePredictor, image_mean
from tests.session.helpers import Recorder, opened

#: The bright field of the "huge" test image, XYXY in whole-image pixels.
FIELD = (200, 120, 230, 140)


@pytest.fixture
def huge_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One 240 x 320 image that counts as huge (Pillow's pixel limit lowered below it),
    shown as a 120 x 160 overview."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 240 * 320 // 4)
    monkeypatch.setattr(source, "OVERVIEW_SIDE", 160)
    folder = tmp_path / "huge"
    folder.mkdir()
    pixels = np.full((240, 320), 40, np.uint8)
    x0, y0, x1, y1 = FIELD
    pixels[y0:y1, x0:x1] = 230
    tifffile.imwrite(folder / "ortho.tif", pixels, tile=(64, 64))
    return folder


def test_a_click_on_the_overview_opens_a_crop_and_accepts_land_in_whole_image_pixels(
    huge_folder: Path,
) -> None:
    predictor = FakePredictor()
    session, runner = opened(huge_folder, predictor)
    overview = session.image.source
    assert overview.is_overview and session.image.crop is None
    assert session.image.embedding is None and predictor.encoded == []  # never encoded
    events = Recorder(session)

    assert overview.size == (120, 160) and overview.full_size == (240, 320)
    x0, y0, x1, y1 = FIELD
    session.add_point((x0 + x1) / 4, (y0 + y1) / 4, 1)  # the overview is half size
    crop = session.image.crop
    assert crop is not None and session.image.source.region == crop.region
    assert crop.size == (64, 64) and "image_loaded" in events.names()
    # The click became the first prompt, in crop pixels; the crop is what SAM encodes.
    cx, cy = crop.offset
    assert session.prompts.points == ((215.0 - cx, 130.0 - cy, 1),)
    encode = next(r for r in runner.pending() if isinstance(r, EncodeRequest))
    assert encode.picture is session.image.source
    runner.run()
    assert predictor.encoded[-1][0] == (64, 64)
    session.accept()
    runner.run()
    (annotation,) = session.document.annotations
    mask = annotation.rle.decode()
    assert mask.shape == (240, 320)
    ys, xs = np.nonzero(mask)
    # A disk around the click, placed where the click was in the whole image.
    assert abs(xs.mean() - 215) < 1.5 and abs(ys.mean() - 130) < 1.5
    assert annotation.prompts["points"] == [[215.0, 130.0, 1]]

    session.add_point(10, 10, 1)
    session.back_to_overview()
    assert session.image.crop is None and session.image.source is overview
    assert session.prompts.is_empty()  # the crop's prompts do not apply to the overview
    assert session.image.source.is_overview
    session.shutdown()


def test_a_crop_of_an_unreadable_file_is_refused_with_a_message(huge_folder: Path) -> None:
    session, _ = opened(huge_folder, FakePredictor())
    events = Recorder(session)
    (huge_folder / "ortho.tif").write_bytes(b"not a tiff any more")
    assert not session.enter_crop_at(100, 100, 1)
    assert session.image.crop is None and session.image.source.is_overview
    (message,) = [e for e in events.seen if e[0] == "message"]
    assert message[1] == "error" and "ortho.tif" in message[2]


def scan_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    ramp = np.linspace(1000, 1400, 160, dtype=np.float64)[None, :].repeat(120, axis=0)
    tifffile.imwrite(folder / "scan.tif", ramp.astype(np.uint16))
    return folder


def test_a_new_window_shows_at_once_and_reaches_sam_only_when_encoded(tmp_path: Path) -> None:
    predictor = FakePredictor()
    session, runner = opened(scan_folder(tmp_path), predictor)
    source = session.image.source
    assert source.loaded is not None and len(predictor.encoded) == 1
    session.add_point(80, 60, 1)
    runner.run()
    first_embedding = session.image.embedding
    events = Recorder(session)

    window = Window(1100.0, 1300.0)
    assert session.image.show_window(window)
    # The picture changed in place; SAM still has the old one.
    assert events.names() == ["pixels_changed"]
    assert session.image.source.window == window and session.image.source is not source
    assert session.image.embedding is first_embedding and runner.pending() == []

    session.encode_window()
    assert session.prompts.prediction is None  # decoded again on the new embedding
    request = next(r for r in runner.pending() if isinstance(r, EncodeRequest))
    assert request.picture is session.image.source
    runner.run()
    assert image_mean(session.image.source.display) == pytest.approx(predictor.encoded[-1][1])
    assert session.image.embedding is not first_embedding
    assert session.prompts.prediction is not None

    session.go_to(0)  # the same image: nothing happens
    session.image.show_window(window)
    assert not runner.pending()


def test_answers_for_an_image_left_are_dropped(image_folder: Path) -> None:
    predictor = FakePredictor()
    session, runner = opened(image_folder, predictor)
    session.go_to(1)
    load_1 = next(r for r in runner.pending() if isinstance(r, LoadRequest))
    session.go_to(2)
    session.image.on_loaded(load_1.number, session.image.source, [])  # a late answer
    assert session.image.source is None
    runner.run()
    assert session.image.path.name == "img_002.png" and session.image.source is not None
    assert session.image.embedding is not None
    session.go_to(0)
    assert runner.pending()  # read and encode image 0: answered only after the close
    session.close_folder()
    runner.run()
    assert session.image.source is None and session.image.embedding is None
