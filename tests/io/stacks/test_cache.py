"""The frame cache never holds more than its byte budget and drops the least recently used."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from samlabel.io.stacks import FrameCache


@settings(max_examples=60, deadline=None)
@given(
    budget=st.integers(0, 4000),
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 12), st.integers(1, 1500)), max_size=60),
)
def test_the_cache_stays_within_budget_and_keeps_the_most_recent(budget, steps):
    cache = FrameCache(budget)
    recent: list[int] = []  # our own model of use order, most recent last
    sizes: dict[int, int] = {}
    for is_put, index, size in steps:
        if is_put:
            frame = np.full(size, index, dtype=np.uint8)
            cache.put(index, frame)
            if size <= budget:
                sizes[index] = size
                recent = [i for i in recent if i != index] + [index]
        else:
            got = cache.get(index)
            if got is not None:
                assert got[0] == index and not got.flags.writeable
                recent = [i for i in recent if i != index] + [index]
        # What the model says must be held: the most recent frames that fit, newest first.
        held, total = [], 0
        for i in reversed(recent):
            if total + sizes[i] > budget:
                break
            held.append(i)
            total += sizes[i]
        assert cache.nbytes <= budget
        assert sorted(held) == sorted(i for i in sizes if cache._frames.get(i) is not None)
        recent = [i for i in recent if i in held]
