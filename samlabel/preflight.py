"""Checks before Qt starts, so a machine that cannot show the window gets one clear sentence.

Without a display, or with one of the X11 client libraries of Qt's ``xcb`` platform plugin
missing, Qt aborts the process with a message that blames ``libxcb-cursor0`` whatever is
actually missing. :func:`window_problem` finds the real cause first, with the environment and
``ctypes`` only (no Qt import), on Linux; other systems ship what Qt needs.

The library lists are what PySide6 6.11's ``libqxcb.so``, ``libQt6XcbQpa.so.6`` and
``libQt6Gui.so.6`` link (``readelf -d``), with the Debian/Ubuntu package of each.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

#: Libraries Qt's GUI module needs on any platform plugin (offscreen included): soname -> package.
GUI_LIBRARIES: dict[str, str] = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libX11.so.6": "libx11-6",
}

#: Libraries the ``xcb`` platform plugin (an X11 window) needs in addition.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
}

#: Qt platform plugins that draw without a display server.
HEADLESS_PLATFORMS = frozenset(
    {"offscreen", "minimal", "minimalegl", "vnc", "linuxfb", "eglfs", "vkkhrdisplay"}
)

Loader = Callable[[str], object]


def _load_library(soname: str) -> object:
    """Load ``soname`` as Qt would (raises OSError when it is missing or broken)."""
    try:
        return ctypes.CDLL(soname)
    except OSError:
        bundle = getattr(sys, "_MEIPASS", None)  # a packaged app carries some libraries itself
        if bundle and (Path(bundle) / soname).is_file():
            return ctypes.CDLL(str(Path(bundle) / soname))
        raise


def missing_libraries(sonames: Mapping[str, str], loader: Loader | None = None) -> list[str]:
    """The sonames among ``sonames`` that ``loader`` cannot load, in the given order."""
    loader = loader or _load_library
    missing = []
    for soname in sonames:
        try:
            loader(soname)
        except OSError:
            missing.append(soname)
    return missing


def _platform(environ: Mapping[str, str]) -> str:
    """The Qt platform plugin asked for: the first of ``QT_QPA_PLATFORM`` ("" when unset)."""
    value = environ.get("QT_QPA_PLATFORM", "").strip()
    # "wayland;xcb" is a list of fallbacks; "vnc:size=800x600" carries options after ':'.
    return value.split(";")[0].split(":")[0].strip().lower()


def x_server_answers(display: str, loader: Loader | None = None) -> bool:
    """Whether an X server accepts a connection on ``display`` (e.g. ``":0"``), via libxcb."""
    lib = (loader or _load_library)("libxcb.so.1")
    lib.xcb_connect.restype = ctypes.c_void_p  # type: ignore[attr-defined]
    lib.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]  # type: ignore[attr-defined]
    lib.xcb_connection_has_error.argtypes = [ctypes.c_void_p]  # type: ignore[attr-defined]
    lib.xcb_disconnect.argtypes = [ctypes.c_void_p]  # type: ignore[attr-defined]
    # xcb_connect never returns NULL: a failed connection is an object with its error set.
    connection = lib.xcb_connect(display.encode(), None)  # type: ignore[attr-defined]
    try:
        return lib.xcb_connection_has_error(connection) == 0  # type: ignore[attr-defined]
    finally:
        lib.xcb_disconnect(connection)  # type: ignore[attr-defined]


def _uses_xcb(qt_platform: str, environ: Mapping[str, str]) -> bool:
    """Whether Qt will open an X11 window: asked for, or the default outside a Wayland session."""
    if qt_platform:
        return qt_platform == "xcb"
    in_wayland = (
        bool(environ.get("WAYLAND_DISPLAY")) and environ.get("XDG_SESSION_TYPE") == "wayland"
    )
    return bool(environ.get("DISPLAY")) and not in_wayland


def window_problem(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    loader: Loader | None = None,
    x_server: Callable[[str], bool] | None = None,
) -> str | None:
    """One sentence saying why the window cannot open here, or None when nothing is wrong.

    Args:
        environ: the environment to judge (default ``os.environ``).
        platform: ``sys.platform`` to judge (default the running one); only Linux is checked.
        loader: loads a library by soname, raising OSError when it cannot (default: ctypes).
        x_server: tells whether an X server answers on a display (default: libxcb).
    """
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    qt_platform = _platform(environ)
    if qt_platform in HEADLESS_PLATFORMS:
        return _missing_message(GUI_LIBRARIES, loader)
    wants_wayland = qt_platform.startswith("wayland")
    has_display = bool(environ.get("WAYLAND_DISPLAY")) or (
        not wants_wayland and bool(environ.get("DISPLAY"))
    )
    if not has_display:
        variable = "WAYLAND_DISPLAY is" if wants_wayland else "DISPLAY and WAYLAND_DISPLAY are"
        return (
            f"there is no display to open the window on ({variable} not set): run samlabel "
            "in a desktop session, over SSH with X forwarding (ssh -X), or headless with "
            "QT_QPA_PLATFORM=offscreen; the subcommands (samlabel --help) need no display."
        )
    if not _uses_xcb(qt_platform, environ):
        return _missing_message(GUI_LIBRARIES, loader)
    problem = _missing_message({**GUI_LIBRARIES, **XCB_LIBRARIES}, loader)
    display = environ.get("DISPLAY", "")
    answers = x_server or (lambda name: x_server_answers(name, loader))
    if problem is None and not answers(display):
        return (
            f"no X server answers on display {display!r} (DISPLAY): start samlabel from the "
            "desktop session, over SSH with X forwarding on (ssh -X), or headless with "
            "QT_QPA_PLATFORM=offscreen."
        )
    return problem


def _missing_message(needed: Mapping[str, str], loader: Loader | None) -> str | None:
    """The sentence naming the libraries of ``needed`` that cannot be loaded, or None."""
    missing = missing_libraries(needed, loader)
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(needed[soname] for soname in missing))
    return (
        f"the window needs system libraries that are not installed ({', '.join(missing)}): "
        f"install them with `sudo apt-get install {packages}` (Debian/Ubuntu; other "
        "distributions name the packages alike)."
    )
