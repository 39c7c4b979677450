"""``python -m samlabel`` is the same as the ``samlabel`` command."""

from samlabel.cli import main

raise SystemExit(main())
