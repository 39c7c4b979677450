"""Subcommands of the ``samlabel`` command line, one module each.

Each module defines ``add_parser(subparsers) -> None`` and ``run(args) -> int``.
"""
