"""SortedKeys: the ordered id index behind xAI result pages."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.engine import sortedkeys
from mockserver.engine.sortedkeys import SortedKeys


@settings(max_examples=200, deadline=None)
@given(
    batches=st.lists(st.lists(st.text(max_size=6), max_size=60), max_size=8),
    probe=st.one_of(st.none(), st.text(max_size=6)),
)
def test_behaves_like_a_sorted_set(batches: list[list[str]], probe: str | None) -> None:
    original = sortedkeys.CHUNK
    sortedkeys.CHUNK = 4  # small chunks: splits happen with few keys
    try:
        keys = SortedKeys()
        model: set[str] = set()
        for batch in batches:
            keys.update(batch)
            model.update(batch)
            assert len(keys) == len(model)
        assert list(keys) == sorted(model)
        expected = sorted(k for k in model if probe is None or k > probe)
        assert list(keys.after(probe)) == expected
        for key in model:
            assert key in keys
            assert not keys.add(key)
        assert (probe in keys) == (probe in model)
    finally:
        sortedkeys.CHUNK = original


def test_rising_keys_append_and_split_into_bounded_chunks() -> None:
    keys = SortedKeys(f"req-{n:06d}" for n in range(5000))
    assert len(keys) == 5000
    assert max(len(c) for c in keys._chunks) <= 2 * sortedkeys.CHUNK
    assert list(keys.after("req-004997")) == ["req-004998", "req-004999"]
    assert list(keys.after("req-999999")) == []
    assert 42 not in keys  # type: ignore[comparison-overlap]
