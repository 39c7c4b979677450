"""``samlabel predict``: masks for prompts on one image, for scripting.

Example::

    samlabel predict --model sam_vit_b_01ec64.pth --image field.jpg \\
        --point 420,310,1 --point 500,330,0 --out masks.npz

``.npz`` output holds ``masks`` (K, H, W) bool, ``scores`` (K,) and ``low_res_logits``
(K, 256, 256); ``.png`` output is the best mask as a 0/255 image (or, with ``--all``, one PNG
per candidate with ``_1``, ``_2``, ``_3`` before the suffix). Coordinates are pixels of the
upright image (EXIF orientation applied), x to the right, y down.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from samlabel.commands.predict_output import check_output, write_masks
from samlabel.core.errors import SamlabelError


def _point(text: str) -> tuple[float, float, int]:
    try:
        x, y, label = text.split(",")
        point = (float(x), float(y), int(label))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a point is X,Y,LABEL with LABEL 1 (include) or 0 (exclude), not {text!r}"
        ) from None
    if not all(np.isfinite(point[:2])):
        raise argparse.ArgumentTypeError(f"bad point {text!r}: X and Y must be finite numbers")
    if point[2] not in (0, 1):
        raise argparse.ArgumentTypeError(f"bad point {text!r}: label must be 0 or 1")
    return point


def _box(text: str) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a box is X0,Y0,X1,Y1, not {text!r}") from None
    if not all(np.isfinite((x0, y0, x1, y1))):
        raise argparse.ArgumentTypeError(f"bad box {text!r}: the values must be finite numbers")
    if not (x0 < x1 and y0 < y1):
        raise argparse.ArgumentTypeError(
            f"bad box {text!r}: give the top-left corner first (X0 < X1 and Y0 < Y1)"
        )
    return x0, y0, x1, y1


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``predict``."""
    parser = subparsers.add_parser(
        "predict",
        help="segment one image from prompts and save the masks",
        description="Run SAM on one image with include/exclude points and/or a box.",
    )
    parser.add_argument(
        "--model", required=True, help="checkpoint file, ONNX model folder, or installed model name"
    )
    parser.add_argument("--image", required=True, help="image file")
    parser.add_argument(
        "--point",
        action="append",
        type=_point,
        default=[],
        metavar="X,Y,LABEL",
        help="a prompt point in image pixels; LABEL 1 include, 0 exclude (repeatable)",
    )
    parser.add_argument("--box", type=_box, metavar="X0,Y0,X1,Y1", help="a box prompt")
    parser.add_argument("--out", required=True, help="output .npz (all masks) or .png")
    parser.add_argument(
        "--single", action="store_true", help="one mask instead of three candidates"
    )
    parser.add_argument("--all", action="store_true", help="with .png: write every candidate")
    parser.add_argument(
        "--backend",
        default="auto",
        choices=("auto", "onnxruntime", "openvino", "torch"),
        help="inference backend (default: auto, measured once per model on this machine)",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16", "fp16"),
        help="compute precision; bf16/fp16 need OpenVINO and a device that has them "
        "(default: fp32, or the measured choice with --backend auto)",
    )
    parser.add_argument(
        "--device", help="torch: cpu, cuda, cuda:1; OpenVINO: CPU, GPU, NPU (default: automatic)"
    )


def resolve_model(text: str) -> Path:
    """A path as given, or the file of an installed model named ``text``."""
    path = Path(text).expanduser()
    if path.exists():
        return path
    from samlabel.inference.model_store import ModelStore
    from samlabel.inference.registry import UnknownModelError

    try:
        return ModelStore().path_of(text)
    except UnknownModelError:
        raise SamlabelError(
            f"{text} is neither a model file nor an installed model name "
            "(see `samlabel models list`)."
        ) from None


def run(args: argparse.Namespace) -> int:
    """Check the arguments, read the image, load the model, decode the prompts, write masks.

    Everything that can be checked without the model (prompts, output path, the image) is
    checked first, so a mistake costs no model loading or encoding.
    """
    from samlabel.io.images import read_image, to_display_rgb

    if not args.point and args.box is None:
        raise SamlabelError("give at least one --point or a --box.")
    out = Path(args.out)
    check_output(out)
    model_path = resolve_model(args.model)
    loaded = read_image(args.image)
    _warn_outside(args, loaded.size)
    rgb = to_display_rgb(loaded)
    from samlabel.inference import load_predictor

    predictor = load_predictor(
        model_path,
        backend=args.backend,
        precision=args.precision,
        device=args.device,
        progress=lambda message, fraction: print(f"{message} ({fraction:.0%})", file=sys.stderr),
    )
    print(f"{predictor.describe()}", file=sys.stderr)
    embedding = predictor.encode(rgb)
    prediction = predictor.decode(
        embedding, points=args.point or None, box=args.box, multimask=not args.single
    )
    write_masks(out, prediction, args.all)
    for i, score in enumerate(prediction.scores):
        area = int(prediction.masks[i].sum())
        print(f"mask {i + 1}: score {score:.3f}, area {area} px")
    return 0


def _warn_outside(args: argparse.Namespace, size: tuple[int, int]) -> None:
    """Say so when a prompt lies outside the ``(H, W)`` image (SAM still takes it).

    A prompt more than the image's own size beyond an edge is a mistake (and 1e300 would
    overflow SAM's coordinate frame): refused with a SamlabelError before the model loads.
    """
    h, w = size
    prompts = [(f"point {x:g},{y:g}", (x, y)) for x, y, _ in args.point]
    if args.box is not None:
        prompts.append(("box " + ",".join(f"{v:g}" for v in args.box), args.box))
    for what, values in prompts:
        xs, ys = values[0::2], values[1::2]
        if any(not -w <= x <= 2 * w for x in xs) or any(not -h <= y <= 2 * h for y in ys):
            raise SamlabelError(
                f"the {what} lies far outside the {w} x {h} image {args.image} (more than "
                "the image's own size beyond an edge); give x, y in pixels of the image."
            )
    outside = [f"point {x:g},{y:g}" for x, y, _ in args.point if not (0 <= x < w and 0 <= y < h)]
    if args.box is not None:
        x0, y0, x1, y1 = args.box
        if x1 <= 0 or y1 <= 0 or x0 >= w or y0 >= h:
            outside.append("box " + ",".join(f"{v:g}" for v in args.box))
    for what in outside:
        print(
            f"samlabel: warning: the {what} lies outside the {w} x {h} image {args.image}; "
            "SAM uses it anyway.",
            file=sys.stderr,
        )
