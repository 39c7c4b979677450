"""Work-arounds for known defects of the Qt binding, applied once at start-up."""

from __future__ import annotations

import ctypes
import logging
import platform
import sys

log = logging.getLogger(__name__)

#: PySide6 releases that drop one reference to ``None`` for every call of a method returning
#: nothing, on Pythons where ``None`` is not immortal (< 3.12): after a few thousand calls the
#: interpreter aborts with "none_dealloc". pyproject.toml excludes them; this guards installs
#: that have one anyway.
_NONE_LEAKING_PYSIDE = ("6.12.0",)


def protect_none_refcount() -> bool:
    """Make ``None`` effectively immortal when the installed PySide6 leaks its references.

    Returns True when the guard was applied. On CPython < 3.12 the reference count is a
    ``Py_ssize_t`` at the object's address; raising it by 2**40 keeps it above zero for any
    session length (Python 3.12+ does the same by making ``None`` immortal).
    """
    import PySide6

    if sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False
    if PySide6.__version__ not in _NONE_LEAKING_PYSIDE:
        return False
    refcount = ctypes.c_ssize_t.from_address(id(None))
    refcount.value += 2**40
    log.warning("PySide6 %s leaks references to None; applied a guard", PySide6.__version__)
    return True
