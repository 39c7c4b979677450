"""COCO input whose RLE sizes would overflow or contradict: one sentence, the file untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from samlabel.cli import main
from samlabel.core.errors import AnnotationFileError
from samlabel.io.lock import AnnotationLock
from samlabel.io.store import AnnotationStore


def _compress(counts: list[int]) -> str:
    """COCO's compressed counts string of uncompressed runs (pycocotools' rleToString)."""
    out = bytearray()
    for i, value in enumerate(counts):
        x = value - counts[i - 2] if i > 2 else value
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            out.append((c | 0x20 if more else c) + 48)
    return out.decode()


def _write(folder: Path, height: int, width: int, segmentation) -> Path:
    path = folder / "annotations.json"
    data = {
        "images": [
            {"id": 1, "file_name": "big.tif", "width": width, "height": height},
            {"id": 2, "file_name": "small.png", "width": 4, "height": 4},
        ],
        "categories": [{"id": 1, "name": "field"}],
        "annotations": [
            {
                "id": 41,
                "image_id": 2,
                "category_id": 1,
                "segmentation": {"size": [4, 4], "counts": [5, 3, 8]},
                "area": 3,
                "bbox": [1, 1, 1, 3],
                "iscrowd": 0,
            },
            {
                "id": 42,
                "image_id": 1,
                "category_id": 1,
                "segmentation": segmentation,
                "area": 1,
                "bbox": [0, 0, 1, 1],
                "iscrowd": 0,
            },
        ],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


CASES = {
    "uncompressed 200000x200000": (
        200_000,
        200_000,
        {"size": [200_000, 200_000], "counts": [200_000 * 200_000 - 10, 10]},
        "more than a COCO RLE mask can address",
    ),
    "compressed 100000x100000": (
        100_000,
        100_000,
        {"size": [100_000, 100_000], "counts": _compress([100_000 * 100_000 - 1, 1])},
        "more than a COCO RLE mask can address",
    ),
    "negative run": (
        10,
        10,
        {"size": [10, 10], "counts": [-5, 105]},
        "run 0 has a negative length (-5)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_store_keeps_the_annotation_verbatim_and_says_why_in_one_sentence(tmp_path, case):
    height, width, segmentation, problem = CASES[case]
    path = _write(tmp_path, height, width, segmentation)
    before = json.loads(path.read_bytes())
    store = AnnotationStore.open(path)
    (message,) = store.unreadable
    assert "annotation 42" in message and problem in message
    assert message.count(". ") == 0  # one sentence
    assert "add up to" not in message  # no self-contradicting sum
    assert [a.id for a in store.document.annotations] == [41]
    store.document.add_category("more")
    store.close()
    after = json.loads(path.read_bytes())
    assert after["annotations"][1] == before["annotations"][1]  # kept, byte for byte
    lock = AnnotationLock(path)  # closing let go of the file
    assert lock.acquire() is None
    lock.release()


@pytest.mark.parametrize("case", CASES)
def test_export_refuses_before_decoding_anything(tmp_path, capsys, case):
    height, width, segmentation, problem = CASES[case]
    path = _write(tmp_path, height, width, segmentation)
    out = tmp_path / "png"
    assert main(["export", str(path), "--format", "png", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "annotation 42" in captured.err and problem in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()


def test_absurdly_deep_json_is_a_sentence_not_a_recursion_error(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_text('{"info": ' + "[" * 100_000 + "]" * 100_000 + "}")
    before = path.read_bytes()
    with pytest.raises(AnnotationFileError, match="nests lists or objects too deeply"):
        AnnotationStore.open(path)
    assert path.read_bytes() == before
