"""The small-cell rule: nothing published describes fewer than 5 individuals."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from utfall.core.privacy import MIN_CELL, is_publishable, publishable_share, small_cell_reason


def test_the_boundary_is_five():
    assert MIN_CELL == 5
    assert not is_publishable(4) and is_publishable(5) and not is_publishable(None)
    assert small_cell_reason(4) == "fewer than 5 individuals in the group"
    assert small_cell_reason(5) is None
    assert small_cell_reason(20, 4) == "fewer than 5 individuals reached the outcome"
    assert small_cell_reason(20, 16) == "fewer than 5 individuals did not reach the outcome"
    assert publishable_share(5, 10) == 0.5
    assert publishable_share(6, 10) is None  # only 4 did not: the complement is a small cell


@given(st.integers(0, 200), st.integers(0, 200))
def test_a_published_share_never_reveals_a_small_cell(total, count):
    count = min(count, total)
    share = publishable_share(count, total)
    if share is not None:
        assert count >= MIN_CELL and total - count >= MIN_CELL
        assert share == count / total
    else:
        assert min(count, total - count) < MIN_CELL


def test_a_lone_withheld_cell_takes_the_smallest_other_with_it():
    from utfall.core.privacy import complementary_cell

    assert complementary_cell([3, 40, 7, 7], [0]) == 2  # the first of the two smallest
    assert complementary_cell([3, 0, 9], [0]) == 2  # an empty cell hides nothing
    assert complementary_cell([3, 2, 9], [0, 1]) is None  # two withheld: neither derivable
    assert complementary_cell([3], [0]) is None  # nothing else: withhold the total instead
    assert complementary_cell([30, 9], []) is None
