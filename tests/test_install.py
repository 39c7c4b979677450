"""What a new user's install gets: OpenVINO where it has wheels, the CPU build of PyTorch
from the README's first command, and every system library the window needs in its apt line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from samlabel.preflight import GUI_LIBRARIES, XCB_LIBRARIES

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: tomli, which pytest itself requires there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {r.name: r for r in map(Requirement, project["dependencies"])}


def _environment(sys_platform: str, machine: str) -> dict[str, str]:
    return {"sys_platform": sys_platform, "platform_machine": machine, "python_version": "3.11"}


@pytest.mark.parametrize(
    ("sys_platform", "machine", "gets_openvino"),
    [
        ("linux", "x86_64", True),
        ("win32", "AMD64", True),
        ("darwin", "arm64", True),
        ("darwin", "x86_64", False),  # OpenVINO's macOS x86_64 wheels stop at 2025.4
        ("linux", "aarch64", False),  # wheels only for glibc >= 2.35, which markers cannot see
    ],
)
def test_openvino_comes_with_the_install_where_it_has_wheels(
    sys_platform: str, machine: str, gets_openvino: bool
) -> None:
    requirements = _requirements()
    environment = _environment(sys_platform, machine)
    assert requirements["openvino"].marker is not None
    assert requirements["openvino"].marker.evaluate(environment) is gets_openvino
    assert requirements["onnxruntime"].marker is None  # ONNX Runtime everywhere


def _set_up_section() -> str:
    return README.split("## Set up", 1)[1].split("\n## ", 1)[0]


def test_the_first_command_takes_pytorch_from_its_cpu_index() -> None:
    first = re.search(r"```sh\n(.*?)\n```", _set_up_section(), re.S)
    assert first is not None
    command = first.group(1)
    torch_part, _, rest = command.partition("&&")
    assert "torch" in torch_part
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_part
    assert 'pip install -e ".[dev]"' in rest and rest.strip().endswith("samlabel")


def test_the_apt_line_installs_every_library_the_window_checks_for() -> None:
    line = re.search(r"sudo apt-get install[^\n`]*", _set_up_section())
    assert line is not None
    packages = set(line.group(0).split()[3:])
    needed = set(GUI_LIBRARIES.values()) | set(XCB_LIBRARIES.values())
    assert needed <= packages, f"missing from the README's apt line: {needed - packages}"
