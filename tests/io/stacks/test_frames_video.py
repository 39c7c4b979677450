"""Numbered frames and video files as stacks; video seeks land on the frame asked for."""

from __future__ import annotations

import random

import numpy as np
import pytest

from samlabel.io.stacks import FramesFolder, VideoStack, list_items, open_stack, stack_kind
from tests.io.stacks.factory import (
    index_pattern,
    read_index,
    write_dicom_series,
    write_multipage_tiff,
    write_png_frames,
    write_video,
)


def test_numbered_frames_in_natural_order(tmp_path):
    write_png_frames(tmp_path / "seq", 12)  # frame_1 .. frame_12, unpadded
    assert stack_kind(tmp_path / "seq") == "frames"
    stack = open_stack(tmp_path / "seq", root=tmp_path)
    assert isinstance(stack, FramesFolder)
    assert [p.name for p in stack.files[:3]] == ["frame_1.png", "frame_2.png", "frame_3.png"]
    assert stack.files[-1].name == "frame_12.png"
    for k in (1, 9, 11):
        assert read_index(stack.frame(k)) == k
    np.testing.assert_array_equal(stack.frame(10), index_pattern(10))
    assert stack.dtype == np.uint8 and stack.default_window is None


def test_photos_with_unrelated_names_are_not_a_stack(tmp_path):
    write_png_frames(tmp_path / "photos", 2, pattern="beach_{}.png")
    write_png_frames(tmp_path / "photos", 1, pattern="harbour_{}.png")
    assert stack_kind(tmp_path / "photos") is None


@pytest.mark.parametrize(("name", "fourcc"), [("clip.mp4", "mp4v"), ("clip.avi", "MJPG")])
def test_video_frames_in_any_order_are_the_frames_asked_for(tmp_path, name, fourcc):
    path = write_video(tmp_path / name, 120, fourcc)
    assert stack_kind(path) == "video"
    with open_stack(path, root=tmp_path) as stack:
        assert isinstance(stack, VideoStack)
        assert (len(stack), stack.frame_size, stack.uri) == (120, (48, 96), name)
        order = list(range(120))
        random.Random(5).shuffle(order)
        # Random jumps (seeks), then a forward run (reads) and a backward run (seeks).
        for k in [*order[:40], *range(60, 80), *range(30, 10, -1)]:
            assert read_index(stack.frame(k)) == k, f"frame {k}"
        assert stack.frame(7).shape == (48, 96, 3)
        assert stack.notes == []


def test_scrolling_back_over_seen_frames_does_not_decode_again(tmp_path):
    with open_stack(write_video(tmp_path / "v.mp4", 40)) as stack:
        for k in range(20):
            stack.frame(k)
        calls = []
        original = stack._decode
        stack._decode = lambda k: calls.append(k) or original(k)
        for k in range(19, -1, -1):
            stack.frame(k)
        assert calls == []


def test_a_folder_lists_its_stacks_as_single_items(tmp_path):
    root = tmp_path / "study"
    write_dicom_series(root / "ct", count=3)
    write_png_frames(root / "seq", 3)
    write_multipage_tiff(root / "z.tif", 2)
    write_multipage_tiff(root / "single.tif", 1)
    write_png_frames(root / "plain", 1, pattern="photo{}.png")  # one image: a plain folder
    write_video(root / "clip.avi", 3, "MJPG")
    items = [(p.relative_to(root).as_posix(), kind) for p, kind in list_items(root)]
    assert items == [
        ("clip.avi", "video"),
        ("ct", "dicom-series"),
        ("seq", "frames"),
        ("single.tif", None),
        ("z.tif", "tiff"),
    ]


def test_threads_reading_frames_at_once_each_get_the_frame_asked_for(tmp_path):
    # The window reads frames on its thread while a worker reads others for encoding.
    from concurrent.futures import ThreadPoolExecutor

    with open_stack(write_video(tmp_path / "v.mp4", 90), budget_bytes=0) as stack:
        order = list(range(90)) * 2
        random.Random(2).shuffle(order)
        with ThreadPoolExecutor(4) as pool:
            got = list(pool.map(lambda k: read_index(stack.frame(k)), order))
    assert got == order


@pytest.mark.parametrize("claimed", [0, 25])
def test_frames_beyond_a_container_count_that_is_too_low_are_kept(tmp_path, monkeypatch, claimed):
    import cv2

    from samlabel.io.stacks import video_stack

    real = cv2.VideoCapture

    class Undercounting:  # a wrapper: subclassing OpenCV's class crashes at interpreter exit
        def __init__(self, *args):
            self._capture = real(*args)

        def get(self, prop):
            return claimed if prop == cv2.CAP_PROP_FRAME_COUNT else self._capture.get(prop)

        def __getattr__(self, name):
            return getattr(self._capture, name)

    monkeypatch.setattr(video_stack.cv2, "VideoCapture", Undercounting)
    with open_stack(write_video(tmp_path / "v.avi", 40, "MJPG")) as stack:
        assert len(stack) == 40
        assert f"claims {claimed} frames but holds 40" in stack.notes[0]
        assert [read_index(stack.frame(k)) for k in (39, 0, 30)] == [39, 0, 30]


def test_scrolling_back_through_unseen_frames_seeks_once_per_sixteen(tmp_path, monkeypatch):
    import cv2

    from samlabel.io.stacks import video_stack

    real, seeks = cv2.VideoCapture, []

    class CountingSeeks:
        def __init__(self, *args):
            self._capture = real(*args)

        def set(self, prop, value):
            seeks.append(value)
            return self._capture.set(prop, value)

        def __getattr__(self, name):
            return getattr(self._capture, name)

    monkeypatch.setattr(video_stack.cv2, "VideoCapture", CountingSeeks)
    with open_stack(write_video(tmp_path / "v.mp4", 80)) as stack:
        seeks.clear()  # opening checks the last frame
        for k in range(79, -1, -1):
            assert read_index(stack.frame(k)) == k
        assert len(seeks) <= 80 // 16 + 1
