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

from samlabel.core.errors import SamlabelError


def _point(text: str) -> tuple[float, float, int]:
    try:
        x, y, label = text.split(",")
        point = (float(x), float(y), int(label))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a point is X,Y,LABEL with LABEL 1 (include) or 0 (exclude), not {text!r}"
        ) from None
    if point[2] not in (0, 1) or not all(np.isfinite(point[:2])):
        raise argparse.ArgumentTypeError(f"bad point {text!r}: label must be 0 or 1")
    return point


def _box(text: str) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a box is X0,Y0,X1,Y1, not {text!r}") from None
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
    """Load the model, encode the image, decode the prompts, write the masks."""
    from samlabel.inference import load_predictor
    from samlabel.io.images import read_image, to_display_rgb

    if not args.point and args.box is None:
        raise SamlabelError("give at least one --point or a --box.")
    out = Path(args.out)
    if out.suffix.lower() not in (".npz", ".png"):
        raise SamlabelError(f"{out}: the output must end in .npz or .png.", out)
    loaded = read_image(args.image)
    rgb = to_display_rgb(loaded)
    predictor = load_predictor(
        resolve_model(args.model),
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
    _write(out, prediction, args.all)
    for i, score in enumerate(prediction.scores):
        area = int(prediction.masks[i].sum())
        print(f"mask {i + 1}: score {score:.3f}, area {area} px")
    return 0


def _write(out: Path, prediction, every_candidate: bool) -> None:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".npz":
            np.savez_compressed(
                out,
                masks=prediction.masks,
                scores=prediction.scores,
                low_res_logits=prediction.low_res_logits,
            )
            return
        import cv2

        indices = range(len(prediction.scores)) if every_candidate else [prediction.best_index()]
        for i in indices:
            path = out.with_name(f"{out.stem}_{i + 1}{out.suffix}") if every_candidate else out
            image = prediction.masks[i].astype(np.uint8) * 255
            ok, encoded = cv2.imencode(".png", image)
            if not ok:
                raise SamlabelError(f"{path}: could not encode the mask as PNG.", path)
            path.write_bytes(encoded.tobytes())
    except OSError as error:
        raise SamlabelError(f"cannot write {out}: {error.strerror or error}.", out) from None
