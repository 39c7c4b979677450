"""``samlabel export ANNOTATIONS --format {coco,coco-polygons,png,yolo} --out PATH``."""

from __future__ import annotations

import argparse
from pathlib import Path

from samlabel.io.coco import load_coco, save_coco
from samlabel.io.exporters import export_png_masks, export_yolo

FORMATS = ("coco", "coco-polygons", "png", "yolo")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write annotations as COCO (RLE or polygons), PNG label masks or YOLO labels",
        description=(
            "coco: rewrite the COCO file with compressed RLE masks, keeping every field it "
            "holds; coco-polygons: polygons where a mask has no holes (RLE otherwise); "
            "png: per-image instance and semantic label PNGs in the folder OUT (semantic values "
            "1..N follow the category list, explained in legend.json); "
            "yolo: YOLO segmentation labels in the folder OUT."
        ),
    )
    parser.add_argument("annotations", help="a COCO annotations JSON file")
    parser.add_argument("--format", required=True, choices=FORMATS, dest="format")
    parser.add_argument("--out", required=True, help="output file (coco) or folder (png, yolo)")


def run(args: argparse.Namespace) -> int:
    loaded = load_coco(args.annotations)
    out = Path(args.out)
    result = None
    if args.format in ("coco", "coco-polygons"):
        polygons = args.format == "coco-polygons"
        save_coco(loaded.document, out, loaded.foreign, polygons=polygons)
    elif args.format == "png":
        result = export_png_masks(loaded.document, out)
    else:
        result = export_yolo(loaded.document, out)
    count = len(loaded.document.annotations)
    print(f"exported {count} annotations of {len(loaded.document.images)} images to {out}")
    if result is not None:
        print(result.summary())  # says which label files were renamed to avoid a clash
    return 0
