"""samlabel: desktop image labelling with Segment Anything.

Package layout and import rules are in the design handbook; in short:
``core`` (pure Python + numpy) <- ``io`` (files) <- ``sam`` (torch network) <- ``inference``
(running a model) <- ``qt`` (the only package that imports PySide6) <- ``app`` (wiring).
"""

__version__ = "0.1.0"
