"""The check before Qt starts: no display, or missing X11 libraries, get one sentence.

Most tests judge a made-up environment with a fake library loader; one runs the real
``samlabel`` command in a child process without a display.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from samlabel.preflight import GUI_LIBRARIES, XCB_LIBRARIES, window_problem

ROOT = Path(__file__).resolve().parent.parent


def _loader(missing: set[str]):
    """A library loader on a machine where the sonames in ``missing`` are not installed."""
    seen: list[str] = []

    def load(soname: str) -> object:
        seen.append(soname)
        if soname in missing:
            raise OSError(f"{soname}: cannot open shared object file: No such file or directory")
        return object()

    load.seen = seen  # type: ignore[attr-defined]
    return load


def _answers(*displays: str):
    """An X server check that finds a server on ``displays`` only; remembers what it was asked."""
    asked: list[str] = []

    def answers(display: str) -> bool:
        asked.append(display)
        return display in displays

    answers.asked = asked  # type: ignore[attr-defined]
    return answers


def test_everything_present_under_x11_is_fine() -> None:
    load, server = _loader(set()), _answers(":0")
    assert window_problem({"DISPLAY": ":0"}, "linux", load, server) is None
    assert set(load.seen) == set(GUI_LIBRARIES) | set(XCB_LIBRARIES)
    assert server.asked == [":0"]


def test_a_display_no_x_server_answers_on_is_named() -> None:
    problem = window_problem({"DISPLAY": ":99"}, "linux", _loader(set()), _answers(":0"))
    assert problem is not None
    assert "no X server answers on display ':99'" in problem and "ssh -X" in problem


def test_a_wayland_session_needs_no_xcb_and_no_x_server() -> None:
    environ = {"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}
    load, server = _loader(set(XCB_LIBRARIES)), _answers()
    assert window_problem(environ, "linux", load, server) is None
    assert server.asked == []
    # ... unless xcb is asked for by name
    problem = window_problem({**environ, "QT_QPA_PLATFORM": "xcb"}, "linux", load, server)
    assert problem is not None and "libxcb-cursor.so.0" in problem


def test_the_real_x_server_check_finds_none_on_an_unused_display() -> None:
    from samlabel.preflight import missing_libraries, x_server_answers

    if missing_libraries({"libxcb.so.1": "libxcb1"}):
        pytest.skip("libxcb is not installed here")
    if Path("/tmp/.X11-unix/X97").exists():
        pytest.skip("display :97 is in use here")
    assert x_server_answers(":97") is False


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_windows_and_macos_are_not_checked(platform: str) -> None:
    load = _loader(set(GUI_LIBRARIES) | set(XCB_LIBRARIES))
    assert window_problem({}, platform, load) is None
    assert load.seen == []


def test_no_display_names_both_variables_and_the_ways_out() -> None:
    problem = window_problem({}, "linux", _loader(set()))
    assert problem is not None
    assert "DISPLAY and WAYLAND_DISPLAY are not set" in problem
    assert "ssh -X" in problem and "QT_QPA_PLATFORM=offscreen" in problem
    assert problem.count(". ") == 0 and "\n" not in problem  # one sentence


@pytest.mark.parametrize("value", ["offscreen", "minimal", "vnc:size=800x600", "Offscreen"])
def test_headless_platforms_need_no_display_and_no_xcb(value: str) -> None:
    load = _loader(set(XCB_LIBRARIES))
    assert window_problem({"QT_QPA_PLATFORM": value}, "linux", load) is None
    assert not set(load.seen) & set(XCB_LIBRARIES)


def test_wayland_needs_its_own_display_variable() -> None:
    problem = window_problem(
        {"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux", _loader(set())
    )
    assert problem is not None and "WAYLAND_DISPLAY is not set" in problem
    load = _loader(set(XCB_LIBRARIES))
    assert window_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", load, _answers()) is None


def test_missing_xcb_libraries_are_named_exactly_with_their_packages() -> None:
    # What this kind of machine really lacks: cursor is installed, icccm and keysyms are not.
    missing = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    problem = window_problem({"DISPLAY": ":0"}, "linux", _loader(missing), _answers(":0"))
    assert problem is not None
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in problem
    assert "`sudo apt-get install libxcb-icccm4 libxcb-keysyms1`" in problem
    assert "cursor" not in problem  # Qt's own abort would blame libxcb-cursor0


def test_a_missing_gui_library_is_found_even_offscreen() -> None:
    problem = window_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", _loader({"libEGL.so.1"}))
    assert problem is not None and "sudo apt-get install libegl1`" in problem


def test_the_real_loader_finds_libc_and_refuses_a_made_up_library() -> None:
    from samlabel.preflight import missing_libraries

    if not sys.platform.startswith("linux"):
        pytest.skip("sonames are a Linux matter")
    assert missing_libraries({"libc.so.6": "libc6", "libnot-a-lib.so.9": "x"}) == [
        "libnot-a-lib.so.9"
    ]


def test_the_command_without_a_display_says_so_and_exits_non_zero(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check runs on Linux only")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}
    }
    env["PYTHONPATH"] = str(ROOT)
    env["SAMLABEL_CONFIG_DIR"] = str(tmp_path / "config")
    result = subprocess.run(
        [sys.executable, "-m", "samlabel", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("samlabel: there is no display")
    assert "Traceback" not in result.stderr and "qt.qpa" not in result.stderr
