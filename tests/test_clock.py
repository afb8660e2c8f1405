from __future__ import annotations

import pytest

from mockserver.engine.clock import ClockRegistry, SystemClock, VirtualClock
from tests.conftest import T0, FakeTime


def test_system_clock_tracks_real_time() -> None:
    import time

    assert abs(SystemClock().now() - time.time()) < 1


def test_running_virtual_clock_follows_base_with_offset() -> None:
    base = FakeTime()
    clock = VirtualClock(base)
    base.t += 5
    assert clock.now() == T0 + 5
    clock.advance(10)
    assert clock.now() == T0 + 15
    base.t += 1
    assert clock.now() == T0 + 16


def test_frozen_clock_moves_only_when_told() -> None:
    base = FakeTime()
    clock = VirtualClock(base, frozen=True)
    base.t += 100
    assert clock.now() == T0
    assert clock.advance(2.5) == T0 + 2.5
    assert clock.set(T0 + 60) == T0 + 60


def test_clock_refuses_to_go_back() -> None:
    clock = VirtualClock(FakeTime(), frozen=True)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="cannot set the clock back"):
        clock.set(T0 - 1)


def test_freeze_and_unfreeze_keep_the_reading_continuous() -> None:
    base = FakeTime()
    clock = VirtualClock(base)
    base.t += 3
    assert clock.freeze() == T0 + 3
    base.t += 50
    assert clock.now() == T0 + 3
    assert clock.unfreeze() == T0 + 3
    base.t += 1
    assert clock.now() == T0 + 4


def test_tenant_clocks_layer_on_the_server_clock() -> None:
    clocks = ClockRegistry(FakeTime(), frozen=True)
    a, b = clocks.for_tenant("a"), clocks.for_tenant("b")
    a.advance(10)
    assert (a.now(), b.now()) == (T0 + 10, T0)
    clocks.server.advance(1)
    assert (a.now(), b.now()) == (T0 + 11, T0 + 1)
    assert clocks.for_tenant("a") is a
    clocks.reset("a")
    assert clocks.for_tenant("a").now() == T0 + 1
    clocks.reset()
    assert clocks.for_tenant("b").now() == T0
