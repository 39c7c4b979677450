"""``samlabel bench``: encoder and click-to-mask timings in one run, as a table.

No download: full-size networks are built with random weights in this process.
"""

from __future__ import annotations

import argparse
import sys

from samlabel.inference.benchmark import MODEL_CHOICES, OPENVINO_PRECISIONS

#: What one ``samlabel bench`` measures side by side: SAM 1 ViT-B, MobileSAM, SAM 2.1 T and B+.
DEFAULT_MODELS = "vit_b,vit_t,sam2.1_t,sam2.1_b+"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``bench``."""
    parser = subparsers.add_parser(
        "bench",
        help="measure encoder and per-click speed on this machine",
        description="Time the image encoder (torch, ONNX Runtime, OpenVINO f32 and bf16) and the "
        "click-to-mask path (naive vs ours, per backend) with full-size random-weight models, "
        "all in one run.",
    )
    parser.add_argument(
        "--models",
        default=None,
        help=f"comma-separated, from {', '.join(MODEL_CHOICES)} (default: {DEFAULT_MODELS}; "
        "vit_b with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few minutes on a laptop: ViT-B only, 10 clicks, one timed encode, OpenVINO "
        "fp32 only, no int8 decoder",
    )
    parser.add_argument(
        "--no-meta",
        action="store_true",
        help="leave out Meta's own paths (segment-anything) beside ours",
    )
    parser.add_argument("--clicks", type=int, default=None, help="clicks per image size (30)")
    parser.add_argument("--repeats", type=int, default=None, help="timed encodes per backend (2)")
    parser.add_argument(
        "--device", default="cpu", help="cpu, or cuda for the torch backend on a GPU"
    )
    parser.add_argument(
        "--precision",
        default=None,
        help="OpenVINO precisions to measure beside ONNX Runtime, comma-separated from "
        "fp32, bf16, fp16, or 'none' (default: fp32,bf16)",
    )
    parser.add_argument(
        "--everything",
        type=int,
        nargs="?",
        const=32,
        default=0,
        metavar="POINTS_PER_SIDE",
        help="also time segment everything (default grid 32x32) on 1 MP with a random ViT-B, "
        "ours against Meta's generator when segment_anything is installed (minutes)",
    )
    parser.add_argument(
        "--openvino-device",
        default="CPU",
        help="OpenVINO device: CPU, GPU or NPU where OpenVINO reports one (default: CPU)",
    )


def _machine_line() -> str:
    """Processor, cores, and what OpenVINO sees (devices and their precisions)."""
    import os

    from samlabel.inference import openvino_backend as ovb
    from samlabel.inference.calibration import cpu_name

    line = f"machine: {cpu_name()}, {os.cpu_count()} logical cores"
    version = ovb.openvino_version()
    if version:
        devices = ", ".join(
            f"{d} ({'/'.join(ovb.device_precisions(d))})" for d in ovb.available_devices()
        )
        line += f"; OpenVINO {version.split('-')[0]}: {devices}"
    return line


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print the table on stdout (progress on stderr)."""
    from samlabel.core.errors import SamlabelError
    from samlabel.inference.benchmark import run_benchmark

    quick = args.quick
    if args.models is None:  # "" is no model rows (for example with --everything alone)
        args.models = "vit_b" if quick else DEFAULT_MODELS
    args.clicks = args.clicks or (10 if quick else 30)
    args.repeats = args.repeats or (1 if quick else 2)
    args.precision = args.precision or ("fp32" if quick else ",".join(OPENVINO_PRECISIONS))
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODEL_CHOICES]
    if unknown:
        raise SamlabelError(f"unknown model(s) {', '.join(unknown)}; choose from {MODEL_CHOICES}")
    if args.clicks < 2 or args.repeats < 1:
        raise SamlabelError("--clicks must be at least 2 and --repeats at least 1.")
    if args.device.startswith("cuda"):
        from samlabel.inference.loader import cuda_available

        if not cuda_available():
            raise SamlabelError("--device cuda was asked for, but torch sees no usable CUDA GPU.")
    precisions = tuple(p.strip() for p in args.precision.split(",") if p.strip())
    if precisions == ("none",):
        precisions = ()
    if any(p not in ("fp32", "bf16", "fp16") for p in precisions):
        raise SamlabelError(f"--precision takes fp32, bf16, fp16 or none, not {args.precision!r}.")
    print(_machine_line(), flush=True)
    if not models and not args.everything:
        raise SamlabelError("--models is empty and --everything is not given: nothing to time.")
    result = run_benchmark(
        models,
        clicks=args.clicks,
        encode_repeats=args.repeats,
        device=args.device,
        openvino_precisions=precisions,
        openvino_device=args.openvino_device,
        include_int8=not quick,
        include_meta=not args.no_meta,
        log=lambda line: print(f"... {line}", file=sys.stderr, flush=True),
    )
    if args.everything:
        from samlabel.inference.automatic_bench import segment_everything_rows
        from samlabel.inference.benchmark import _build_random_model

        model, title = _build_random_model("vit_b")
        segment_everything_rows(
            result,
            model,
            title,
            points_per_side=args.everything,
            log=lambda line: print(f"... {line}", file=sys.stderr, flush=True),
        )
    print(result.table())
    print(
        f"({_machine_line()}; compare rows of one run only: other runs, other machines and a "
        "busy machine move absolute times)"
    )
    return 0
