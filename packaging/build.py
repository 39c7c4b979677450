"""Build the samlabel app with PyInstaller, then check that the result starts.

Usage::

    python packaging/build.py [--lite] [--model [NAME=]PATH ...] [--dist DIR] [--work DIR]
                              [--no-check]

Writes ``<dist>/samlabel/`` (default ``dist/samlabel`` in the repository, which git ignores).
After building it runs the app headless (``QT_QPA_PLATFORM=offscreen``): ``--help``,
``models list``, the window for a few seconds, a damaged checkpoint's message, ``predict`` on
a drawn test image with each bundled model, and the window encoding that image with the first
bundled ONNX model. Prints the build time and the size.
Exit code 0 when the build and every check succeeded.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bundle_options  # noqa: E402  (next to this file, not an installed package)

#: Seconds the window must stay up in the start check (a missing Qt plugin aborts at once).
WINDOW_CHECK_SECONDS = 8.0
#: Longest wait for the window to encode its first image (a first start calibrates backends).
WINDOW_ENCODE_SECONDS = 300.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lite", action="store_true", help="leave torch out: ONNX model folders only"
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="[NAME=]PATH",
        help="bundle an exported ONNX model folder (or, full build only, a checkpoint); repeatable",
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "build" / "pyinstaller", help="PyInstaller work folder"
    )
    parser.add_argument("--no-check", action="store_true", help="skip running the built app")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> Path:
    """Run PyInstaller on samlabel.spec; returns the app folder ``<dist>/samlabel``."""
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        str(HERE / "samlabel.spec"),
        "--noconfirm",
        "--clean",
        "--log-level=WARN",
        "--distpath",
        str(args.dist),
        "--workpath",
        str(args.work),
        "--",
    ]
    if args.lite:
        command.append("--lite")
    for text in args.model:
        command += ["--model", text]
    subprocess.run(command, check=True, cwd=ROOT)
    return args.dist / "samlabel"


def executable(app: Path, cli: bool = True) -> Path:
    """The command-line (``cli``) or window executable in the app folder.

    They are one file on Linux; Windows and macOS builds have a console-less ``samlabel``
    and a ``samlabel-cli`` for the terminal.
    """
    suffix = ".exe" if sys.platform == "win32" else ""
    console = app / f"samlabel-cli{suffix}"
    return console if cli and console.exists() else app / f"samlabel{suffix}"


def _run(command: list[str], env: dict[str, str], timeout: float = 900) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


#: Files the app cannot work without, as globs under ``_internal`` (names differ by platform).
REQUIRED_FILES = (
    "samlabel/assets/dark.qss",
    "samlabel/assets/icons/app.svg",
    "PySide6/Qt/plugins/platforms/*",
    "PySide6/Qt/plugins/imageformats/*qsvg*",  # the toolbar icons are SVG
    "onnxruntime/capi/*onnxruntime*",
)


def check_files(app: Path, models: list[bundle_options.BundledModel]) -> None:
    """The package data, Qt plugins, ONNX Runtime and bundled models are in the folder."""
    internal = app / "_internal"
    patterns = [*REQUIRED_FILES, *(f"models/{m.name}" for m in models)]
    missing = [pattern for pattern in patterns if not any(internal.glob(pattern))]
    if missing:
        raise RuntimeError(f"missing from {internal}: {', '.join(missing)}")
    print(f"check: {len(patterns)} required files present")


def check(app: Path, models: list[bundle_options.BundledModel], lite: bool) -> None:
    """Run the built app headless; raises RuntimeError with its output when a check fails."""
    check_files(app, models)
    exe = str(executable(app))
    with tempfile.TemporaryDirectory(prefix="samlabel-check-") as temp:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        for var, sub in (
            ("SAMLABEL_CACHE_DIR", "cache"),
            ("SAMLABEL_MODELS_DIR", "models"),
            ("SAMLABEL_CONFIG_DIR", "config"),
        ):
            env[var] = str(Path(temp) / sub)

        t0 = time.perf_counter()
        out = _run([exe, "--help"], env)
        print(f"check: --help ok ({time.perf_counter() - t0:.1f} s)")
        if "usage: samlabel" not in out:
            raise RuntimeError(f"unexpected --help output:\n{out}")
        out = _run([exe, "models", "list"], env)
        print("check: models list ok\n" + out.rstrip())
        listed = {line.split()[0] for line in out.splitlines() if line.split()}
        for model in models:
            if Path(model.name).stem not in listed:
                # Not fatal: the model still opens by path; listing needs the models store
                # to search samlabel.core.paths.bundled_models_dir().
                print(f"warning: `models list` does not show the bundled model {model.name}")

        _check_window(str(executable(app, cli=False)), env)
        _check_checkpoint_message(exe, env, Path(temp), lite)

        for model in models:  # a checkpoint is exported to ONNX first: a minute or more
            _check_predict(exe, env, app / "_internal" / "models" / model.name, Path(temp))
        onnx_models = [m for m in models if m.is_onnx_folder]
        if onnx_models:
            bundled = app / "_internal" / "models" / onnx_models[0].name
            _check_window_encodes(str(executable(app, cli=False)), env, bundled, Path(temp))


def _check_window(exe: str, env: dict[str, str]) -> None:
    """The window starts and stays up (Qt platform plugin, icons, stylesheet load)."""
    process = subprocess.Popen(
        [exe], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        process.wait(timeout=WINDOW_CHECK_SECONDS)
    except subprocess.TimeoutExpired:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        print(f"check: window up for {WINDOW_CHECK_SECONDS:.0f} s ok")
        if "Could not load the Qt platform plugin" in output:
            raise RuntimeError(f"the window could not load its Qt plugin:\n{output}") from None
        return
    output = process.stdout.read() if process.stdout else ""
    raise RuntimeError(f"the window exited at once with {process.returncode}:\n{output}")


def _check_window_encodes(exe: str, env: dict[str, str], model: Path, temp: Path) -> None:
    """The window opened on a folder with a bundled model encodes the first image.

    Proof: an embedding appears in the embedding cache (under the cache folder).
    """
    images = temp / "window-images"
    images.mkdir()
    _draw_test_image(images / "disc.png")
    cache = Path(env["SAMLABEL_CACHE_DIR"])
    before = set(cache.rglob("*.npz"))
    t0 = time.perf_counter()
    process = subprocess.Popen(
        [exe, "--model", str(model), str(images)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while time.perf_counter() - t0 < WINDOW_ENCODE_SECONDS:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the window exited with {process.returncode}:\n{process.communicate()[1]}"
                )
            if set(cache.rglob("*.npz")) - before:
                print(f"check: window encoded an image ({time.perf_counter() - t0:.1f} s) ok")
                return
            time.sleep(0.5)
    finally:
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=30)
    raise RuntimeError(f"no embedding after {WINDOW_ENCODE_SECONDS:.0f} s with {model}")


def _draw_test_image(path: Path) -> None:
    """A 320x240 RGB picture: a yellow disc centred at (160, 120) on blue."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (40, 60, 90))
    ImageDraw.Draw(image).ellipse((100, 60, 220, 180), fill=(230, 200, 60))
    image.save(path)


def _check_checkpoint_message(exe: str, env: dict[str, str], temp: Path, lite: bool) -> None:
    """A damaged checkpoint gets a one-line message, not a traceback.

    This imports torch in the full build (its hook must have collected everything that
    ``import torch`` needs), and in the lite build reaches the "no PyTorch" message.
    """
    from PIL import Image

    broken, image = temp / "broken.pth", temp / "gray.png"
    broken.write_bytes(b"not a checkpoint")
    Image.new("L", (32, 32), 128).save(image)
    command = [exe, "predict", "--model", str(broken), "--image", str(image)]
    result = subprocess.run(
        [*command, "--point", "1,1,1", "--out", str(temp / "x.npz")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    # Full: torch reads the file and refuses it; lite: torch is absent and the app says so.
    clear = str(broken) in message and (("no PyTorch" in message) == lite)
    if result.returncode != 2 or not message.startswith("samlabel: ") or not clear:
        raise RuntimeError(
            f"a damaged checkpoint gave exit code {result.returncode}:\n{result.stderr}"
        )
    print(f"check: damaged checkpoint message ok ({message[:70]}...)")


def _check_predict(exe: str, env: dict[str, str], model: Path, temp: Path) -> None:
    """``predict`` with a bundled model on a drawn image writes three masks."""
    import numpy as np

    image_path, out_path = temp / "disc.png", temp / "masks.npz"
    _draw_test_image(image_path)
    t0 = time.perf_counter()
    command = [exe, "predict", "--model", str(model), "--image", str(image_path)]
    _run([*command, "--point", "160,120,1", "--out", str(out_path)], env)
    with np.load(out_path) as result:
        shape = result["masks"].shape
    if shape != (3, 240, 320):
        raise RuntimeError(f"predict wrote masks of shape {shape}, expected (3, 240, 320)")
    print(f"check: predict with bundled {model.name} ok ({time.perf_counter() - t0:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        models = [bundle_options.parse_model(text, args.lite) for text in args.model]
    except bundle_options.BundleError as error:
        print(f"build: {error}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        app = build(args)
    except subprocess.CalledProcessError as error:
        print(f"build: PyInstaller failed with exit code {error.returncode}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - t0
    size = bundle_options.total_size([app])
    variant = "lite (no torch)" if args.lite else "full"
    print(f"built {variant} app in {seconds:.0f} s: {app} ({size / 2**20:.0f} MiB)")
    if args.no_check:
        return 0
    try:
        check(app, models, args.lite)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"check failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
