"""``samlabel models list | download NAME | import PATH | remove NAME``: the models folder.

Every action takes ``--models-dir DIR`` (default: ``SAMLABEL_MODELS_DIR`` or the user data
folder). Errors reach the user as one sentence through :func:`samlabel.cli.main`; a failed
download says how to install the file by hand.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from samlabel.inference.download import part_path
from samlabel.inference.model_store import ModelEntry, ModelStore
from samlabel.inference.registry import UnknownModelError

#: Seconds between redraws of the progress bar (a 10 Hz bar is smooth and cheap).
REDRAW_INTERVAL = 0.1
BAR_WIDTH = 30


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``models`` and its actions."""
    parser = subparsers.add_parser(
        "models",
        help="list, download, import or remove SAM models",
        description="Manage the models folder: official SAM / MobileSAM downloads and your "
        "own checkpoints.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--models-dir",
        metavar="DIR",
        help="models folder (default: $SAMLABEL_MODELS_DIR, else the user data folder)",
    )
    actions = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    actions.add_parser(
        "list", parents=[common], help="official models and installed ones, with their paths"
    )
    download = actions.add_parser(
        "download",
        parents=[common],
        help="download an official model (resumes, verifies sha256)",
    )
    download.add_argument("name", help="model name from `samlabel models list` (e.g. vit_b)")
    download.add_argument(
        "--force", action="store_true", help="download again even if it is installed"
    )
    imported = actions.add_parser(
        "import",
        parents=[common],
        help="copy a SAM / MobileSAM checkpoint into the models folder and export ONNX",
    )
    imported.add_argument("path", help="checkpoint file (.pth, .pt or .safetensors)")
    imported.add_argument("--name", help="name for the model (default: the file name)")
    imported.add_argument(
        "--no-onnx", action="store_true", help="skip the ONNX export (done on first use)"
    )
    remove = actions.add_parser("remove", parents=[common], help="delete an installed model")
    remove.add_argument("name", help="model name from `samlabel models list`")


def run(args: argparse.Namespace) -> int:
    """Run one ``models`` action; returns the exit code."""
    store = ModelStore(args.models_dir)
    action = args.models_command
    if action == "list":
        return _list(store, sys.stdout)
    if action == "download":
        return _download(store, args.name, args.force)
    if action == "import":
        return _import(store, args.path, args.name, not args.no_onnx)
    if action == "remove":
        removed = store.remove(args.name)
        print(f"Removed {removed}")
        return 0
    raise AssertionError(f"unhandled models action {action!r}")  # argparse allows no other


def format_size(n: int | None) -> str:
    """Bytes as people read them: ``38.8 MiB``, ``2.39 GiB``; ``?`` when unknown."""
    if n is None:
        return "?"
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} B"


def _list(store: ModelStore, out: TextIO) -> int:
    writable = "" if store.is_writable() else " (read-only)"
    print(f"Models folder: {store.folder}{writable}", file=out)
    for folder in store.read_only_folders:
        print(f"Also searched (read-only): {folder}", file=out)
    entries = store.entries()
    rows = [("NAME", "MODEL", "SIZE", "STATUS", "BACKEND", "PATH")]
    rows += [_row(entry) for entry in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[5]]).rstrip(), file=out)
    missing = [e for e in entries if e.official and not e.installed and e.spec is not None]
    if missing:
        print(
            "\nDownload one with `samlabel models download NAME`, or fetch its file from\n"
            "its address (on another machine if need be) into the models folder:",
            file=out,
        )
        width = max(len(e.spec.file_name) for e in missing)
        for entry in missing:
            print(f"  {entry.spec.file_name.ljust(width)}  {entry.spec.url}", file=out)
    return 0


def _row(entry: ModelEntry) -> tuple[str, str, str, str, str, str]:
    backend = ""
    if entry.installed:
        status = "installed" + (" (shared)" if entry.read_only else "")
        where = str(entry.path)
        backend = _measured_backend(entry)
    else:
        partial = part_path(entry.path)
        status = "partly downloaded" if partial.exists() else "not installed"
        where = ""
    title = entry.title if entry.official else f"custom: {entry.title}"
    return entry.name, title, format_size(entry.size), status, backend, where


def _measured_backend(entry: ModelEntry) -> str:
    """What ``backend="auto"`` measured fastest for this model on this machine, if it has run."""
    from samlabel.inference.calibration import choice_for_source

    try:
        choice = choice_for_source(entry.path)
    except Exception:  # a broken runtime install must not stop the listing
        return "?"
    return choice.label() if choice else "not measured yet"


def _download(store: ModelStore, name: str, force: bool) -> int:
    entry = store.get(name)
    if entry.installed and not force:
        print(f"{entry.title} is already installed: {entry.path}")
        return 0
    spec = entry.spec
    if spec is None:
        raise UnknownModelError(
            f"{entry.name} is a custom model in {store.folder}; only official models can be "
            "downloaded (see `samlabel models list`)."
        )
    print(f"Downloading {spec.title} ({format_size(spec.size)}) from {spec.url}", file=sys.stderr)
    with TerminalProgress(spec.file_name, sys.stderr) as progress:
        try:
            path = store.download(spec.name, progress=progress, force=force)
        except KeyboardInterrupt:
            progress.close()
            print(
                f"samlabel: download interrupted; run the same command again to resume "
                f"(the partial file {part_path(store.folder / spec.file_name)} is kept).",
                file=sys.stderr,
            )
            return 130
    check = "sha256 verified" if spec.sha256 else "size checked; no published sha256"
    print(f"Installed {spec.title} ({check}): {path}")
    return 0


def _import(store: ModelStore, path: str, name: str | None, export_onnx: bool) -> int:
    from samlabel.core.errors import InferenceError

    print(f"Checking that {path} is a SAM checkpoint...", file=sys.stderr)
    try:
        result = store.import_checkpoint(
            path, name=name, export_onnx=export_onnx, progress=_StepPrinter(sys.stderr)
        )
    except InferenceError as error:  # the export (in its own process) failed or crashed
        print(
            f"The checkpoint is imported, but converting it to ONNX failed: {error}\n"
            "It will be converted again when the model is first used.",
            file=sys.stderr,
        )
        return 1
    what = f"{result.model_name} " if result.model_name else ""
    if result.copied:
        print(f"Imported {what}as '{result.entry.name}': {result.entry.path}")
    else:
        print(f"Already installed as '{result.entry.name}': {result.entry.path}")
    if result.onnx_folder is not None:
        print(f"ONNX files: {result.onnx_folder}")
    else:
        print("The ONNX export will run when the model is first used.")
    return 0


class _StepPrinter:
    """Prints each new step of the ONNX export (``(message, fraction)``) on its own line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._last: str | None = None

    def __call__(self, message: str, fraction: float) -> None:
        if message != self._last:
            self._last = message
            self.stream.write(f"  {fraction * 100:3.0f}%  {message}\n")
            self.stream.flush()


class TerminalProgress:
    """A download progress bar on a terminal: tqdm when installed, else ``\\r`` redraws.

    Called as ``progress(done_bytes, total_bytes)``. On a stream that is not a terminal (a
    log file, CI) it writes one line per 10% instead of redrawing.
    """

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label = label
        self.stream = stream
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())
        self._tqdm = None
        self._last_draw = 0.0
        self._last_decile = -1
        self._started = time.monotonic()
        self._start_bytes: int | None = None
        self._drawn = False

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, done: int, total: int | None) -> None:
        if self._start_bytes is None:
            self._start_bytes = done  # a resumed download starts counting speed from here
        if self.interactive and self._make_tqdm(total):
            self._tqdm.update(done - self._tqdm.n)
            return
        finished = total is not None and done >= total
        if self.interactive:
            now = time.monotonic()
            if finished or now - self._last_draw >= REDRAW_INTERVAL:
                self._last_draw = now
                self.stream.write("\r" + self._line(done, total))
                self.stream.flush()
                self._drawn = True
        elif total:
            decile = min(10, done * 10 // total)
            if decile > self._last_decile:
                self._last_decile = decile
                self.stream.write(self._line(done, total) + "\n")
                self.stream.flush()

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
            self._tqdm = None
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def _make_tqdm(self, total: int | None) -> bool:
        if self._tqdm is not None:
            return True
        try:
            from tqdm import tqdm
        except ImportError:
            return False
        self._tqdm = tqdm(
            total=total,
            initial=self._start_bytes or 0,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=self.label,
            file=self.stream,
        )
        return True

    def _line(self, done: int, total: int | None) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-6)
        speed = (done - (self._start_bytes or 0)) / elapsed
        if not total:
            return f"{self.label}  {format_size(done)}  {format_size(int(speed))}/s"
        fraction = min(done / total, 1.0)
        filled = int(fraction * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return (
            f"{self.label}  [{bar}] {fraction * 100:5.1f}%  "
            f"{format_size(done)} / {format_size(total)}  {format_size(int(speed))}/s"
        )
