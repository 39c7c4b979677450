"""Packaging: the PyInstaller spec's choices, the bundled models folder, the app icons.

Building the app takes minutes and is not run here; these tests execute the spec with
stand-ins for PyInstaller's classes and check what it would put in the bundle.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
from PIL import Image

from samlabel.core.errors import CheckpointError
from samlabel.core.paths import bundled_models_dir
from samlabel.inference.loader import load_predictor

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "samlabel.spec"
SAMLABEL_MODULES = [
    "samlabel",
    "samlabel.cli",
    "samlabel.commands.models",
    "samlabel.sam",
    "samlabel.sam.checkpoint",
    "samlabel.inference.torch_backend",
    "samlabel.inference.onnx_backend",
    "samlabel.selftest",
    "samlabel.preflight",
]


def _load_bundle_options() -> types.ModuleType:
    # Loaded from its file: "packaging" is also the name of a PyPI package.
    spec = importlib.util.spec_from_file_location(
        "samlabel_bundle_options", PACKAGING / "bundle_options.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


bundle_options = _load_bundle_options()


def _onnx_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "manifest.json").write_text('{"format": "samlabel-onnx", "version": 1}')
    (path / "encoder.onnx").write_bytes(b"\0" * 64)
    return path


class _Recorder:
    """Stands in for one PyInstaller build class; remembers its arguments."""

    calls: list[tuple[str, tuple, dict]]

    def __init__(self, name: str, calls: list) -> None:
        self.name, self.calls = name, calls

    def __call__(self, *args, **kwargs):
        self.calls.append((self.name, args, kwargs))
        binaries = [
            ("torch/lib/libtorch_cpu.so", "/src/libtorch_cpu.so", "BINARY"),
            ("torch/test/atest", "/src/atest", "BINARY"),
            ("torch/bin/protoc", "/src/protoc", "BINARY"),
            ("torch/bin/test_jit", "/src/test_jit", "BINARY"),
            ("torch/bin/torch_shm_manager", "/src/torch_shm_manager", "BINARY"),
        ]
        return types.SimpleNamespace(pure=[], scripts=[], binaries=binaries, datas=[])


def _run_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *spec_args: str) -> dict:
    """Execute samlabel.spec as PyInstaller would; returns {class name: kwargs of its call}."""
    hooks = types.ModuleType("PyInstaller.utils.hooks")

    def collect_submodules(package, filter=lambda name: True):
        assert package == "samlabel"
        return [name for name in SAMLABEL_MODULES if filter(name)]

    def collect_data_files(package, includes=None):
        if package == "openvino":
            return [("/src/openvino/libs/cache.json", "openvino/libs")]
        assert package == "samlabel.assets"
        return [("/src/samlabel/assets/dark.qss", "samlabel/assets")]

    hooks.collect_submodules = collect_submodules
    hooks.collect_data_files = collect_data_files
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "argv", [str(SPEC), *spec_args])
    monkeypatch.setattr(sys, "path", list(sys.path))  # the spec puts packaging/ first
    calls: list = []
    namespace = {
        "SPECPATH": str(PACKAGING),
        "workpath": str(tmp_path / "work"),
        "DISTPATH": str(tmp_path / "dist"),
        **{name: _Recorder(name, calls) for name in ("Analysis", "PYZ", "EXE", "COLLECT")},
        "BUNDLE": _Recorder("BUNDLE", calls),
    }
    try:
        exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    finally:
        sys.modules.pop("bundle_options", None)
    result: dict = {}
    for name, args, kwargs in calls:
        result.setdefault(name, []).append((args, kwargs))
    return result


def test_spec_compiles_as_python() -> None:
    compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")


def test_lite_spec_leaves_torch_out_and_bundles_the_model_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _onnx_folder(tmp_path / "export-2d0e8a")
    calls = _run_spec(tmp_path, monkeypatch, "--lite", "--model", f"MobileSAM={model}")

    ((args, analysis),) = calls["Analysis"]
    assert args[0][0].endswith("launcher.py")
    assert {"torch", "onnxscript", "samlabel.sam"} <= set(analysis["excludes"])
    hidden = analysis["hiddenimports"]
    assert "samlabel.commands.models" in hidden and "samlabel.inference.onnx_backend" in hidden
    assert not any(m.startswith("samlabel.sam") or m.endswith("torch_backend") for m in hidden)
    # `samlabel --selftest` and the display check before Qt work in the lite app too
    assert {"samlabel.selftest", "samlabel.preflight"} <= set(hidden)
    staged = tmp_path / "work" / "models"
    assert (str(staged), "models") in analysis["datas"]
    assert ("/src/samlabel/assets/dark.qss", "samlabel/assets") in analysis["datas"]
    assert (staged / "MobileSAM" / "manifest.json").is_file()
    assert (staged / "MobileSAM" / "encoder.onnx").read_bytes() == b"\0" * 64
    assert [kwargs["name"] for _, kwargs in calls["COLLECT"]] == ["samlabel"]
    exe_names = {kwargs["name"] for _, kwargs in calls["EXE"]}
    assert "samlabel" in exe_names
    if importlib.util.find_spec("openvino") is not None and sys.platform.startswith("linux"):
        # OpenVINO loads these by file name; without them it has no CPU and reads no ONNX
        names = {Path(source).name.split(".so")[0] for source, _ in analysis["binaries"]}
        assert {"libopenvino_intel_cpu_plugin", "libopenvino_onnx_frontend"} <= names


def test_openvino_plugins_and_onnx_reader_are_collected_but_not_unused_readers(
    tmp_path: Path,
) -> None:
    package = tmp_path / "openvino"
    files = [
        "__init__.py",
        "_pyopenvino.cpython-311-x86_64-linux-gnu.so",  # a Python module: the analysis has it
        "libs/libopenvino_intel_cpu_plugin.so",
        "libs/libopenvino_onnx_frontend.so.2641",  # versioned: collect_dynamic_libs misses it
        "libs/libopenvino_paddle_frontend.so.2641",  # a format the app never reads
        "libs/openvino_intel_cpu_plugin.dll",
        "libs/openvino_tensorflow_lite_frontend.dll",
        "libs/tbb.pc",
    ]
    for name in files:
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_bytes(b"")
    pairs = bundle_options.openvino_libraries(package)
    assert pairs == [
        (str(package / "libs" / name), "openvino/libs")
        for name in (
            "libopenvino_intel_cpu_plugin.so",
            "libopenvino_onnx_frontend.so.2641",
            "openvino_intel_cpu_plugin.dll",
        )
    ]


def test_full_spec_keeps_torch_and_accepts_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = tmp_path / "sam_vit_b_01ec64.pth"
    checkpoint.write_bytes(b"weights")
    calls = _run_spec(tmp_path, monkeypatch, "--model", str(checkpoint))

    ((_, analysis),) = calls["Analysis"]
    assert "torch" not in analysis["excludes"]
    assert "samlabel.sam.checkpoint" in analysis["hiddenimports"]
    # torch's C++ test programs are collected by its hook but never shipped; the helper that
    # `import torch` looks for is
    ((collect_args, _),) = calls["COLLECT"]
    shipped = [entry[0] for toc in collect_args if isinstance(toc, list) for entry in toc]
    assert shipped == ["torch/lib/libtorch_cpu.so", "torch/bin/torch_shm_manager"]
    assert (tmp_path / "work" / "models" / "sam_vit_b_01ec64.pth").read_bytes() == b"weights"


def test_spec_without_models_bundles_no_models_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _run_spec(tmp_path, monkeypatch, "--lite")
    ((_, analysis),) = calls["Analysis"]
    assert all(dest != "models" for _, dest in analysis["datas"])


def test_lite_build_refuses_a_checkpoint(tmp_path: Path) -> None:
    checkpoint = tmp_path / "mobile_sam.pt"
    checkpoint.write_bytes(b"weights")
    with pytest.raises(bundle_options.BundleError, match=r"mobile_sam\.pt.*lite"):
        bundle_options.parse_model(str(checkpoint), lite=True)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "without manifest.json"),
        (lambda p: p.write_text("x"), "is not a model"),
        (lambda p: None, "no such model"),
    ],
)
def test_model_option_refuses_what_the_app_could_not_open(tmp_path: Path, make, message) -> None:
    path = tmp_path / "thing"
    make(path)
    with pytest.raises(bundle_options.BundleError, match=message) as caught:
        bundle_options.parse_model(str(path), lite=False)
    assert str(path) in str(caught.value)


def test_two_models_with_one_name_are_refused(tmp_path: Path) -> None:
    first = _onnx_folder(tmp_path / "a" / "model")
    second = _onnx_folder(tmp_path / "b" / "model")
    models = [bundle_options.parse_model(str(p), lite=True) for p in (first, second)]
    with pytest.raises(bundle_options.BundleError, match="'model'"):
        bundle_options.stage_models(models, tmp_path / "work")


def test_bundled_models_dir_inside_a_frozen_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert bundled_models_dir() is None  # frozen, but built without a model
    (tmp_path / "models").mkdir()
    assert bundled_models_dir() == tmp_path / "models"


def test_bundled_models_dir_is_none_when_not_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "models").mkdir()
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert bundled_models_dir() is None


def test_checkpoint_without_torch_gives_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = tmp_path / "sam_vit_b_01ec64.pth"
    checkpoint.write_bytes(b"weights")
    monkeypatch.setitem(sys.modules, "torch", None)  # what a lite bundle looks like
    with pytest.raises(CheckpointError, match="no PyTorch") as caught:
        load_predictor(checkpoint)
    assert str(checkpoint) in str(caught.value)
    # An ONNX folder does not need torch: it gets past that check to the folder's own checks.
    with pytest.raises(CheckpointError) as caught:
        load_predictor(tmp_path)
    assert "no PyTorch" not in str(caught.value)


def test_icons_have_the_sizes_each_platform_needs() -> None:
    resources = ROOT / "resources"
    with Image.open(resources / "samlabel.ico") as ico:
        assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= ico.info["sizes"]
    with Image.open(resources / "samlabel.icns") as icns:
        assert icns.size == (1024, 1024)  # macOS wants the 512@2x entry
    for name, size in (("samlabel.png", 512), ("samlabel-256.png", 256)):
        with Image.open(resources / name) as png:
            assert png.size == (size, size) and png.mode == "RGBA"
            # transparent corners, opaque centre: a tile, not a square
            assert png.getpixel((1, 1))[3] == 0 and png.getpixel((size // 2, size // 2))[3] == 255
