"""Entry script of the packaged app: the same as the ``samlabel`` command.

PyInstaller runs this file as ``__main__``; it must be a script outside the package so the
package itself is imported normally (``samlabel/__main__.py`` would run at import time).
"""

import multiprocessing

from samlabel.cli import main

if __name__ == "__main__":
    # A frozen app that starts worker processes must let them run their task instead of
    # starting a second app; harmless when none are used.
    multiprocessing.freeze_support()
    raise SystemExit(main())
