"""``samlabel export ANNOTATIONS --format {coco,coco-polygons,png,yolo,nifti} --out PATH``."""

from __future__ import annotations

import argparse
from pathlib import Path

from samlabel.io.coco import load_coco, save_coco
from samlabel.io.exporters import export_png_masks, export_yolo

FORMATS = ("coco", "coco-polygons", "png", "yolo", "nifti")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write annotations as COCO (RLE or polygons), PNG label masks or YOLO labels",
        description=(
            "coco: rewrite the COCO file with compressed RLE masks, keeping every field it "
            "holds; coco-polygons: polygons where a mask has no holes (RLE otherwise); "
            "png: per-image instance and semantic label PNGs in the folder OUT (semantic values "
            "1..N follow the category list, explained in legend.json); "
            "yolo: YOLO segmentation labels in the folder OUT; "
            "nifti: one NIfTI label map per volume or sequence (stack) in the folder OUT, on "
            "its source's voxel grid and affine (values per category, or per object with "
            "--nifti-values track; legend in labels.json)."
        ),
    )
    parser.add_argument("annotations", help="a COCO annotations JSON file")
    parser.add_argument("--format", required=True, choices=FORMATS, dest="format")
    parser.add_argument(
        "--out", required=True, help="output file (coco) or folder (png, yolo, nifti)"
    )
    parser.add_argument(
        "--nifti-values",
        choices=("category", "track"),
        default="category",
        help="nifti: a voxel's value is its category (1..N, list order) or its object's track id",
    )


def run(args: argparse.Namespace) -> int:
    loaded = load_coco(args.annotations)
    out = Path(args.out)
    result = None
    if args.format in ("coco", "coco-polygons"):
        polygons = args.format == "coco-polygons"
        save_coco(loaded.document, out, loaded.foreign, polygons=polygons)
    elif args.format == "png":
        result = export_png_masks(loaded.document, out)
    elif args.format == "nifti":
        from samlabel.io.nifti_export import export_nifti  # nibabel only when asked for

        root = Path(args.annotations).resolve().parent
        nifti = export_nifti(loaded.document, root, out, by=args.nifti_values)
        print(nifti.summary())
        return 1 if nifti.skipped else 0
    else:
        result = export_yolo(loaded.document, out)
    count = len(loaded.document.annotations)
    print(f"exported {count} annotations of {len(loaded.document.images)} images to {out}")
    if result is not None:
        print(result.summary())  # says which label files were renamed to avoid a clash
    return 0
