"""``samlabel bench``: encoder and click-to-mask timings in one run, as a table.

No download: full-size networks are built with random weights in this process.
"""

from __future__ import annotations

import argparse
import platform
import sys

from samlabel.inference.benchmark import MODEL_CHOICES


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``bench``."""
    parser = subparsers.add_parser(
        "bench",
        help="measure encoder and per-click speed on this machine",
        description="Time the image encoder (torch and ONNX Runtime) and the click-to-mask "
        "path (naive vs ours) with full-size random-weight models.",
    )
    parser.add_argument(
        "--models",
        default="vit_b,vit_t",
        help=f"comma-separated, from {', '.join(MODEL_CHOICES)} (default: vit_b,vit_t)",
    )
    parser.add_argument("--clicks", type=int, default=30, help="clicks per image size")
    parser.add_argument("--repeats", type=int, default=2, help="timed encodes per backend")
    parser.add_argument(
        "--device", default="cpu", help="cpu, or cuda for the torch backend on a GPU"
    )


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print the table on stdout (progress on stderr)."""
    import os

    from samlabel.core.errors import SamlabelError
    from samlabel.inference.benchmark import run_benchmark

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
    print(f"machine: {_cpu_name()}, {os.cpu_count()} logical cores", flush=True)
    result = run_benchmark(
        models,
        clicks=args.clicks,
        encode_repeats=args.repeats,
        device=args.device,
        log=lambda line: print(f"... {line}", file=sys.stderr, flush=True),
    )
    print(result.table())
    return 0
