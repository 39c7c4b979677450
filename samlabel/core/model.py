"""The records a document is made of: images, categories, annotations (all immutable).

Every record is a frozen dataclass, so a document state is a set of tuples that can be
shared between undo snapshots and handed to a saving thread without copies or locks.
``extra`` holds the fields of the COCO file that samlabel does not interpret, written back
unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from samlabel.core.masks import Rle

_COLOR = re.compile(r"^#[0-9a-f]{6}$")

#: Annotation field set to false on a mask the model added that no person has looked at yet
#: (a proposal of ``samlabel auto``, a propagated mask); absent or true means reviewed work.
REVIEWED_FIELD = "samlabel_reviewed"


class ImageStatus(str, Enum):
    """How far the labelling of one image has got."""

    UNLABELLED = "unlabelled"
    IN_PROGRESS = "in_progress"
    DONE = "done"


@dataclass(frozen=True)
class ImageRecord:
    """One image of the set.

    ``file_name`` is relative to the annotations file's folder (COCO's ``file_name``), with
    forward slashes; ``width`` and ``height`` in pixels after EXIF orientation.
    """

    id: int
    file_name: str
    width: int
    height: int
    status: ImageStatus = ImageStatus.UNLABELLED
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)``."""
        return (self.height, self.width)


@dataclass(frozen=True)
class Category:
    """A label class: ``color`` is ``"#rrggbb"`` (lower case)."""

    id: int
    name: str
    color: str
    supercategory: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Annotation:
    """One object instance on one image.

    Attributes:
        rle: the mask as compressed COCO RLE of the whole image, size ``(H, W)``.
        bbox: ``(x, y, w, h)`` in pixels (COCO xywh, x right, y down), derived from the mask.
        area: number of mask pixels.
        score: the model's predicted IoU for this mask, None when drawn by hand or imported.
        prompts: JSON-compatible record of the prompts that produced it, e.g.
            ``{"points": [[x, y, label], ...], "box": [x0, y0, x1, y1]}``; None if unknown.
        created: ISO 8601 UTC time of creation, None when unknown (imported files).
        iscrowd: COCO's crowd flag, kept from imported files.
    """

    id: int
    image_id: int
    category_id: int
    rle: Rle
    bbox: tuple[float, float, float, float]
    area: int
    score: float | None = None
    prompts: Mapping[str, Any] | None = None
    created: str | None = None
    iscrowd: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


#: Default category colours: distinguishable on photos and on gray MRI slices.
PALETTE: tuple[str, ...] = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#bfef45",
    "#fabed4",
    "#469990",
    "#dcbeff",
    "#9a6324",
    "#fffac8",
    "#800000",
    "#aaffc3",
    "#808000",
    "#ffd8b1",
    "#000075",
)


def normalize_color(color: str) -> str:
    """``"#RRGGBB"`` or ``"#rrggbb"`` -> ``"#rrggbb"``; ValueError for anything else."""
    value = str(color).strip().lower()
    if not _COLOR.match(value):
        raise ValueError(f"a colour must look like #rrggbb, got {color!r}")
    return value
