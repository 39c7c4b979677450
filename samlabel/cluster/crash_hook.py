"""A test-only fault: make one encoder worker process die mid-run, as a killed node would.

Set ``SAMLABEL_TEST_CRASH_FILE`` to a path and create that file (the hook is *armed*), and
``SAMLABEL_TEST_CRASH_AFTER`` to N: the first worker that has encoded N images removes the file
and exits at once (``os._exit``), losing its in-flight batch. Removing the file is atomic, so
exactly one worker dies however many run. Unset (the normal case), nothing happens.
"""

from __future__ import annotations

import os


def maybe_crash(encoded_here: int) -> None:
    """Exit this process when armed and ``encoded_here`` reached the threshold."""
    armed = os.environ.get("SAMLABEL_TEST_CRASH_FILE")
    if not armed or encoded_here < int(os.environ.get("SAMLABEL_TEST_CRASH_AFTER", "1")):
        return
    try:
        os.unlink(armed)
    except FileNotFoundError:
        return  # disarmed, or another worker took the fault
    os._exit(17)
