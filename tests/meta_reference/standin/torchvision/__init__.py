"""A stand-in for the few torchvision helpers Meta's SAM packages import (tests only).

Same semantics as torchvision for the calls those packages make; see each module.
"""

__version__ = "0.0+standin"
