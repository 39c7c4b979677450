"""The ``samlabel`` command.

``samlabel [FOLDER | IMAGES...] [--annotations FILE] [--model CKPT]`` opens the window;
``samlabel SUBCOMMAND ...`` runs one of the scripting subcommands (see ``samlabel --help``).
Subcommands live in :mod:`samlabel.commands`, one module each.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Subcommand name -> module in samlabel.commands defining add_parser() and run().
SUBCOMMANDS: dict[str, str] = {
    "predict": "predict",
    "bench": "bench",
    "export": "export",
    "models": "models",
    "embed": "embed",
    "auto": "auto",
}


def _build_subcommand_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="samlabel", description="Label images with Segment Anything."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in SUBCOMMANDS.values():
        module = importlib.import_module(f"samlabel.commands.{module_name}")
        module.add_parser(subparsers)
    return parser


def _build_window_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="samlabel",
        description="Open the labelling window. Subcommands: " + ", ".join(SUBCOMMANDS) + ".",
    )
    parser.add_argument("paths", nargs="*", help="a folder of images, or image files")
    parser.add_argument(
        "--annotations", help="annotations file (default: annotations.json in the folder)"
    )
    parser.add_argument(
        "--model", help="SAM or MobileSAM checkpoint, or a folder of exported ONNX files"
    )
    parser.add_argument(
        "--backend", default=None, help="inference backend: auto, onnxruntime, torch"
    )
    parser.add_argument(
        "--selftest",
        action="store_true",
        help="check this installation with the --model (or bundled) model: encode, decode, "
        "save COCO, open the window offscreen; exit code 0 when all pass",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SUBCOMMANDS:
        parser = _build_subcommand_parser()
        args = parser.parse_args(args_list)
        module = importlib.import_module(f"samlabel.commands.{SUBCOMMANDS[args.command]}")
        from samlabel.core.errors import SamlabelError

        try:
            return int(module.run(args) or 0)
        except SamlabelError as error:
            print(f"samlabel: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("samlabel: interrupted", file=sys.stderr)
            return 130
    args = _build_window_parser().parse_args(args_list)
    if args.selftest:
        from samlabel.selftest import run_selftest

        return run_selftest(args.model, args.backend)
    from samlabel.preflight import window_problem

    if (problem := window_problem()) is not None:  # before Qt, which would abort
        print(f"samlabel: {problem}", file=sys.stderr)
        return 2
    from samlabel.app import run_app

    return run_app(args)
