"""Refuse values that JSON cannot hold faithfully, before anything is written.

``json.dumps`` writes NaN and Infinity (not JSON) unless told not to, and fails on numpy
scalars only halfway through a file; checking first lets the writer name the exact field.
"""

from __future__ import annotations

import math
from typing import Any


def check_json_safe(value: Any, where: str = "") -> None:
    """Raise ValueError naming the first value that is not plain, finite JSON.

    Allowed: dict with str keys, list, tuple, str, int, float (finite), bool, None.
    """
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or kind is int or item is None:
            continue
        if kind is float:
            if not math.isfinite(item):
                raise ValueError(f"{at or 'the value'} is {item}, which JSON cannot hold")
            continue
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str:
                    raise ValueError(f"{at or 'an object'} has a key {key!r} that is not text")
                stack.append((child, f"{at}.{key}" if at else key))
            continue
        if kind is list or kind is tuple:
            stack.extend((child, f"{at}[{n}]") for n, child in enumerate(item))
            continue
        raise ValueError(
            f"{at or 'the value'} is a {kind.__module__}.{kind.__qualname__} ({item!r}), "
            "not a plain number, text, list or object"
        )
