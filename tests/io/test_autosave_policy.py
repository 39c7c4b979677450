"""The one autosave policy, on a fake clock: a quarter second after the last change, at
most LONGEST (0.75 s, within the two seconds asked for) after the first unsaved one."""

from __future__ import annotations

import pytest

from samlabel.io.autosave_policy import LONGEST, QUIET, AutosavePolicy


def test_one_change_is_saved_a_quarter_second_later() -> None:
    policy = AutosavePolicy()
    assert policy.due_at() is None and not policy.is_due(100.0)
    assert policy.changed(100.0) == pytest.approx(100.0 + QUIET)
    assert not policy.is_due(100.2) and policy.is_due(100.25)


def test_a_burst_is_one_save_after_its_last_change() -> None:
    policy = AutosavePolicy()
    for step in range(5):  # five edits 0.1 s apart
        due = policy.changed(10.0 + 0.1 * step)
        assert not policy.is_due(10.0 + 0.1 * step + 0.05)
    assert due == pytest.approx(10.4 + QUIET)


def test_a_steady_stream_is_saved_soon_after_its_first_change() -> None:
    assert LONGEST <= 2.0  # the bound the design asks for
    policy = AutosavePolicy()
    now = 50.0
    while not policy.is_due(now):  # an edit every 0.2 s, never a quiet quarter second
        policy.changed(now)
        now = round(now + 0.2, 6)
        assert now < 50.0 + LONGEST + 0.2
    assert policy.due_at() == pytest.approx(50.0 + LONGEST)


def test_changes_after_a_save_started_count_from_their_own_time() -> None:
    policy = AutosavePolicy()
    policy.changed(1.0)
    policy.changed(2.9)
    policy.saving()
    assert policy.due_at() is None
    assert policy.changed(3.0) == pytest.approx(3.0 + QUIET)  # not capped by the old 1.0


def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ValueError):
        AutosavePolicy(quiet=3.0, longest=2.0)
