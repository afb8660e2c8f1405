"""Lifecycle plans: drawing, reading, stepping, and the invariants every client relies on."""

from __future__ import annotations

import math

import pytest
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mockserver.engine import lifecycle
from mockserver.engine.lifecycle import Plan, make_plan, next_transition, state
from mockserver.engine.profiles import Dist, Profile, get_profile

T = 1000.0


def plan(count: int = 3, profile: str = "manual", **overrides: object) -> Plan:
    return make_plan(key="job-1", seed=7, profile=profile, now=T, count=count, overrides=overrides)


def test_instant_jobs_are_complete_at_submit() -> None:
    view = state(plan(profile="instant"), T)
    assert view.status == "completed"
    assert (view.created_at, view.started_at, view.ended_at) == (T, T, T)
    assert view.counts.succeeded == 3 and view.counts.pending == 0


def test_manual_profile_moves_in_one_second_phases() -> None:
    p = plan()
    assert state(p, T).status == "queued"
    assert state(p, T + 1).status == "running"
    assert state(p, T + 1.5).counts.running == 3
    done = state(p, T + 2)
    assert done.status == "completed" and done.ended_at == T + 2 and done.started_at == T + 1
    assert next_transition(p, T) == T + 1 and next_transition(p, T + 1) == T + 2
    assert next_transition(p, T + 2) is None


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    a = make_plan(key="k", seed=1, profile="realistic", now=T, count=20)
    b = make_plan(key="k", seed=1, profile="realistic", now=T, count=20)
    c = make_plan(key="k", seed=2, profile="realistic", now=T, count=20)
    assert a == b
    assert a.items != c.items


def test_item_draws_do_not_depend_on_how_many_items_were_drawn() -> None:
    """Items are drawn independently, so an open batch grown in steps equals one drawn at once."""
    whole = make_plan(key="k", seed=3, profile="fast", now=T, count=6, open=True)
    grown = lifecycle.extend_plan(
        make_plan(key="k", seed=3, profile="fast", now=T, count=2, open=True), count=4, now=T
    )
    assert whole.items == grown.items


def test_item_errors_carry_a_message_and_do_not_fail_the_job() -> None:
    p = plan(count=10, item_error_rate=1.0, error_messages=["unreadable media"])
    view = state(p, T + 2)
    assert view.status == "completed"
    assert {i.status for i in view.items} == {"failed"}
    assert {i.error for i in view.items} == {"unreadable media"}


def test_job_failure_cuts_unfinished_items_at_the_planned_fraction() -> None:
    p = plan(
        count=4,
        profile="instant",
        run_time=[1, 4],
        job_failure_rate=1.0,
        failure_at=0.5,
        job_failure_message="model crashed",
    )
    ends = sorted(i.end for i in p.items)
    assert p.failure_index is not None and p.failure_at == ends[2]
    view = state(p, T + 10)
    assert view.status == "failed" and view.error == "model crashed"
    assert view.counts.succeeded == 2 and view.counts.failed == 2
    assert view.ended_at == p.failure_at and view.started_at == T


def test_single_item_job_failure_still_has_start_and_end() -> None:
    view = state(plan(count=1, job_failure_rate=1.0), T + 5)
    assert view.status == "failed"
    assert view.started_at is not None and view.ended_at is not None


def test_stuck_queued_never_moves_until_stepped() -> None:
    p = plan(stuck="queued")
    assert state(p, T + 1e6).status == "queued"
    assert next_transition(p, T) is None
    p = lifecycle.step(p, T + 50)
    view = state(p, T + 50)
    assert view.status == "running" and view.started_at == T + 50


def test_stuck_running_is_released_by_a_terminal_step() -> None:
    p = plan(stuck="running")
    assert state(p, T + 1e6).status == "running"
    p = lifecycle.step(p, T + 1e6, "terminal")
    assert state(p, T + 1e6).status == "completed"


def test_step_only_rewrites_the_future() -> None:
    p = plan(count=2, run_time=5)
    running = state(p, T + 1)
    p2 = lifecycle.step(p, T + 2, "terminal")
    after = state(p2, T + 2)
    assert after.status == "completed" and after.ended_at == T + 2
    assert after.started_at == running.started_at == T + 1


def test_step_next_from_queued_starts_one_item_now() -> None:
    p = lifecycle.step(plan(count=3), T + 0.25)
    view = state(p, T + 0.25)
    assert view.status == "running" and view.counts.running == 1 and view.counts.queued == 2


def test_step_on_a_terminal_job_changes_nothing() -> None:
    p = plan(profile="instant")
    assert lifecycle.step(p, T + 1) is p


def test_cancel_keeps_finished_items_and_cancels_the_rest() -> None:
    p = plan(count=3, profile="instant", run_time=[0, 10])
    p = lifecycle.cancel(p, T + 5)
    view = state(p, T + 6)
    finished = sum(1 for i in p.items if i.end < T + 5)
    assert view.counts.succeeded == finished
    assert view.counts.cancelled == 3 - finished
    expected = "completed" if finished == 3 else "cancelled"
    assert view.status == expected
    assert lifecycle.cancel(p, T + 9) is p


def test_open_container_with_no_items_waits_and_expiry_cancels_it() -> None:
    p = make_plan(key="b", seed=0, profile="instant", now=T, count=0, open=True, expires_at=T + 60)
    assert state(p, T + 59).status == "queued"
    view = state(p, T + 60)
    assert view.status == "cancelled" and view.error == "expired"


def test_closed_empty_job_is_complete() -> None:
    assert state(plan(count=0), T).status == "completed"


def test_plan_round_trips_through_json_with_infinities() -> None:
    p = plan(stuck="queued")
    assert math.isinf(p.items[0].start)
    assert Plan.from_json(p.to_json()) == p


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (2, Dist("fixed", 2.0)),
        ([1, 3], Dist("uniform", 1.0, 3.0)),
        ({"kind": "lognormal", "median": 5, "sigma": 0.5}, Dist("lognormal", 5.0, 0.5)),
    ],
)
def test_durations_parse(raw: object, expected: Dist) -> None:
    assert Dist.parse(raw) == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bogus": 1}, "unknown lifecycle override 'bogus'; valid:"),
        ({"item_error_rate": 2}, "between 0 and 1"),
        ({"stuck": "sideways"}, "none, queued, running"),
        ({"queue_wait": "soon"}, "queue_wait must be seconds as numbers"),
        ({"run_time": [5, 1]}, "low <= high"),
    ],
)
def test_bad_overrides_are_refused_with_the_valid_choices(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        get_profile("instant").with_overrides(overrides)


def test_unknown_profile_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid: instant, fast, realistic, manual"):
        get_profile("slow")


def test_lognormal_draws_are_capped() -> None:
    import random

    dist = Dist("lognormal", 100.0, 5.0, cap=120.0)
    rng = random.Random(0)
    assert max(dist.draw(rng) for _ in range(500)) <= 120.0
    assert isinstance(Profile("x").queue_wait, Dist)


# --- invariants ---------------------------------------------------------------------------------

ORDER = {"queued": 0, "running": 1, "succeeded": 2, "failed": 2, "cancelled": 2}
JOB_ORDER = {"queued": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2}

overrides_strategy = st.fixed_dictionaries(
    {
        "queue_wait": st.tuples(st.floats(0, 5), st.floats(0, 5)).map(sorted),
        "run_time": st.tuples(st.floats(0, 5), st.floats(0, 5)).map(sorted),
        "item_error_rate": st.sampled_from([0.0, 0.3, 1.0]),
        "job_failure_rate": st.sampled_from([0.0, 0.5, 1.0]),
        "failure_at": st.floats(0, 1),
        "stuck": st.sampled_from(["none", "none", "queued", "running"]),
        "expire_after": st.sampled_from([None, None, 0.5, 3.0]),
        "cancel_landing": st.sampled_from([None, None, 0.0, 1.5]),
    }
)


def _landed(p: Plan, old: lifecycle.ItemState, new: lifecycle.ItemState) -> bool:
    """An item running at a cancel that has since landed (``cancel_landing``)."""
    return (
        old.status == "cancelled"
        and new.status in ("succeeded", "failed")
        and p.lands_at is not None
        and new.ended_at == p.lands_at
        and new.started_at == old.started_at is not None
    )


class LifecycleMachine(RuleBasedStateMachine):
    """Random submits, clock moves, steps, cancels and adds; what clients saw must hold."""

    @initialize()
    def start(self) -> None:
        self.now = T
        self.plans: list[Plan] = []
        self.seen: list[lifecycle.JobState] = []

    @rule(
        count=st.integers(0, 6),
        overrides=overrides_strategy,
        open_=st.booleans(),
        seed=st.integers(0, 3),
    )
    def submit(self, count: int, overrides: dict[str, object], open_: bool, seed: int) -> None:
        p = make_plan(
            key=f"job-{len(self.plans)}",
            seed=seed,
            profile="instant",
            now=self.now,
            count=count,
            overrides=overrides,
            open=open_,
        )
        self.plans.append(p)
        self.seen.append(state(p, self.now))

    @rule(dt=st.floats(0, 4))
    def advance(self, dt: float) -> None:
        self.now += dt
        self._observe()

    @precondition(lambda self: self.plans)
    @rule(data=st.data(), to=st.sampled_from(["next", "terminal"]))
    def step(self, data: st.DataObject, to: str) -> None:
        n = data.draw(st.integers(0, len(self.plans) - 1))
        self.plans[n] = lifecycle.step(self.plans[n], self.now, to)  # type: ignore[arg-type]
        self._observe()

    @precondition(lambda self: self.plans)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        n = data.draw(st.integers(0, len(self.plans) - 1))
        self.plans[n] = lifecycle.cancel(self.plans[n], self.now)
        self._observe()

    @precondition(lambda self: any(p.open for p in self.plans))
    @rule(data=st.data(), count=st.integers(1, 3))
    def add(self, data: st.DataObject, count: int) -> None:
        n = data.draw(st.sampled_from([i for i, p in enumerate(self.plans) if p.open]))
        self.plans[n] = lifecycle.extend_plan(self.plans[n], count=count, now=self.now)
        self._observe()

    def _observe(self) -> None:
        for n, p in enumerate(self.plans):
            before, after = self.seen[n], state(p, self.now)
            for old in before.items:
                new = after.items[old.index]
                assert ORDER[new.status] >= ORDER[old.status], (old, new)
                if _landed(p, old, new):
                    continue  # the one move allowed after a terminal state: the cancel race
                if ORDER[old.status] == 2:
                    assert new == old, "a terminal item must not change"
                if old.started_at is not None:
                    assert new.started_at == old.started_at, "a start time moved"
            if not p.open:
                assert JOB_ORDER[after.status] >= JOB_ORDER[before.status]
                if before.terminal:
                    assert (after.status, after.ended_at) == (before.status, before.ended_at)
                    assert after.started_at == before.started_at
            self.seen[n] = after

    @invariant()
    def item_state_and_counts_agree_with_state(self) -> None:
        """The O(1) item reader and the tally loop are exact shortcuts of ``state``."""
        for p in getattr(self, "plans", []):
            view = state(p, self.now)
            assert lifecycle.counts(p, self.now) == view.counts
            for item in view.items:
                assert lifecycle.item_state(p, item.index, self.now) == item

    @invariant()
    def counters_sum_and_times_are_ordered(self) -> None:
        for p in getattr(self, "plans", []):
            view = state(p, self.now)
            c = view.counts
            assert c.queued + c.running + c.succeeded + c.failed + c.cancelled == c.total
            assert c.total == len(p.items)
            for item in view.items:
                if item.started_at is not None:
                    assert p.submitted_at <= item.started_at <= self.now
                if item.ended_at is not None:
                    assert item.ended_at <= self.now
                    if item.started_at is not None:
                        assert item.started_at <= item.ended_at
            if view.started_at is not None:
                assert view.created_at <= view.started_at <= self.now
            if view.ended_at is not None:
                assert view.ended_at <= self.now
                assert view.started_at is not None or view.status == "cancelled"
            if view.terminal and not p.open:
                assert c.pending == 0
            assert Plan.from_json(p.to_json()) == p


TestLifecycleMachine = LifecycleMachine.TestCase
TestLifecycleMachine.settings = hsettings(max_examples=150, stateful_step_count=30, deadline=None)


def test_nothing_is_due_after_a_cut_off() -> None:
    p = lifecycle.cancel(plan(count=2), T)
    assert next_transition(p, T) is None
    assert next_transition(plan(count=1, job_failure_rate=1.0), T + 5) is None


def test_admission_errors_fail_their_items_on_the_drawn_timeline() -> None:
    p = make_plan(
        key="k", seed=0, profile="manual", now=T, count=3, errors=[None, "bad max_tokens", None]
    )
    assert [i.error for i in p.items] == [None, "bad max_tokens", None]
    done = state(p, T + 10)
    assert [i.status for i in done.items] == ["succeeded", "failed", "succeeded"]
    assert done.status == "completed"
    with pytest.raises(ValueError, match="errors has 1 entries for 2 items"):
        make_plan(key="k", seed=0, profile="manual", now=T, count=2, errors=["x"])


def test_fast_readers_agree_with_state_for_held_plans() -> None:
    from dataclasses import replace

    held = replace(plan(3), held=True)
    for now in (T, T + 5):
        view = state(held, now)
        assert lifecycle.counts(held, now) == view.counts
        assert [lifecycle.item_state(held, i, now) for i in range(3)] == list(view.items)
    cut = lifecycle.cancel(held, T + 1)
    view = state(cut, T + 2)
    assert lifecycle.counts(cut, T + 2) == view.counts
    assert lifecycle.item_state(cut, 0, T + 2) == view.items[0]


def test_expire_after_brings_expiry_forward_and_cuts_unfinished_items() -> None:
    p = make_plan(
        key="k", seed=0, profile="manual", now=T, count=3,
        overrides={"run_time": [1, 1], "queue_wait": [0, 0], "expire_after": 0.5},
    )  # fmt: skip
    assert p.expires_at == T + 0.5
    view = state(p, T + 1)
    assert view.status == "cancelled" and view.error == "expired"
    assert {i.status for i in view.items} == {"cancelled"}
    # never later than the provider's own expiry
    kept = make_plan(
        key="k", seed=0, profile="manual", now=T, count=1, expires_at=T + 0.2,
        overrides={"expire_after": 60},
    )  # fmt: skip
    assert kept.expires_at == T + 0.2


def test_cancel_landing_lets_running_items_land_after_the_cancel() -> None:
    overrides = {"queue_wait": [0, 0], "run_time": [10, 10], "cancel_landing": 20}
    p = make_plan(key="k", seed=0, profile="manual", now=T, count=2, overrides=overrides)
    # one item running at the cancel, one still queued (a later start)
    from dataclasses import replace

    p = replace(p, items=(p.items[0], replace(p.items[1], start=T + 50)))
    cut = lifecycle.cancel(p, T + 5)
    assert cut.lands_at == T + 25
    early = state(cut, T + 6)
    assert early.status == "cancelled"
    assert [i.status for i in early.items] == ["cancelled", "cancelled"]
    assert next_transition(cut, T + 6) == T + 25
    late = state(cut, T + 25)
    assert late.status == "cancelled", "the job stays cancelled: only its counters move"
    assert [i.status for i in late.items] == ["succeeded", "cancelled"]
    assert late.items[0].ended_at == T + 25
    assert lifecycle.counts(cut, T + 25) == late.counts
    assert lifecycle.item_state(cut, 0, T + 25) == late.items[0]
    assert next_transition(cut, T + 25) is None
    assert Plan.from_json(cut.to_json()) == cut
    # without the override a cancel is final at once
    plain = lifecycle.cancel(replace(p, overrides={}), T + 5)
    assert plain.lands_at is None
    assert state(plain, T + 100).items[0].status == "cancelled"


@pytest.mark.parametrize("bad", [-1, "soon", True, float("inf")])
def test_expiry_and_landing_overrides_refuse_bad_values(bad: object) -> None:
    for key in ("expire_after", "cancel_landing"):
        with pytest.raises(ValueError, match=key):
            get_profile("fast").with_overrides({key: bad})
