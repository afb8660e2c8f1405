"""The fault rule engine (``mockserver/engine/faults.py``), pure: parsing, matching, budgets,
windows, seeded dice, the two plan modes and the server-wide/per-tenant book."""

from __future__ import annotations

import random
from typing import Any

import pytest

from mockserver.engine.faults import (
    MAX_DELAY,
    Call,
    Delay,
    FaultBook,
    FaultError,
    FaultPlan,
    Rule,
    parse_rule,
    parse_rules,
)

STATUS_429 = {"kind": "status", "status": 429}


def rule(rule_id: str = "r", match: dict[str, Any] | None = None, **raw: Any) -> Rule:
    body: dict[str, Any] = {"id": rule_id, "action": raw.pop("action", STATUS_429), **raw}
    if match is not None:
        body["match"] = match
    return parse_rule(body, default_id=rule_id)


def plan(*rules: Rule, mode: str = "first", seed: int = 0) -> FaultPlan:
    out = FaultPlan(seed=seed, mode=mode)  # type: ignore[arg-type]
    out.add(rules)
    return out


def call(provider: str = "hume", operation: str = "start_job", **kw: Any) -> Call:
    kw.setdefault("tenant", "k1")
    return Call(provider, operation, **kw)


def fired_ids(p: FaultPlan, calls: list[Call]) -> list[str | None]:
    out = []
    for c in calls:
        f = p.decide(c)
        out.append(None if f is None else (f.rule.id if f.rule else "!" + f.expected.id))  # type: ignore[union-attr]
    return out


# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("nope", "rule"),
        ({"action": STATUS_429, "bogus": 1}, "rule: unknown key(s) bogus"),
        ({"id": "", "action": STATUS_429}, "rule.id"),
        ({"id": "a/b", "action": STATUS_429}, "rule.id"),
        ({"id": 3, "action": STATUS_429}, "rule.id"),
        ({"name": 5, "action": STATUS_429}, "rule.name"),
        ({"times": 0, "action": STATUS_429}, "rule.times"),
        ({"times": True, "action": STATUS_429}, "rule.times"),
        ({"times": "2", "action": STATUS_429}, "rule.times"),
        ({"match": [], "action": STATUS_429}, "rule.match"),
        ({"match": {"colour": "red"}, "action": STATUS_429}, "rule.match: unknown key(s) colour"),
        ({"match": {"provider": 1}, "action": STATUS_429}, "rule.match.provider"),
        ({"match": {"operation": ["x"]}, "action": STATUS_429}, "rule.match.operation"),
        ({"match": {"tenant": 1}, "action": STATUS_429}, "rule.match.tenant"),
        ({"match": {"job_id": 1}, "action": STATUS_429}, "rule.match.job_id"),
        ({"match": {"nth": 0}, "action": STATUS_429}, "rule.match.nth"),
        ({"match": {"nth": []}, "action": STATUS_429}, "rule.match.nth"),
        ({"match": {"nth": [1, True]}, "action": STATUS_429}, "rule.match.nth"),
        ({"match": {"nth": "1"}, "action": STATUS_429}, "rule.match.nth"),
        ({"match": {"after_s": -1}, "action": STATUS_429}, "rule.match.after_s"),
        ({"match": {"until_s": "x"}, "action": STATUS_429}, "rule.match.until_s"),
        ({"match": {"probability": 1.5}, "action": STATUS_429}, "rule.match.probability"),
        ({"match": {"probability": True}, "action": STATUS_429}, "rule.match.probability"),
        ({}, "rule.action"),
        ({"action": "status"}, "rule.action"),
        ({"action": {"kind": "explode"}}, "rule.action.kind"),
        ({"action": {"kind": "status", "extra": 1}}, "rule.action: unknown key(s) extra"),
        ({"action": {"kind": "status", "status": 200}}, "rule.action.status"),
        ({"action": {"kind": "status", "status": 600}}, "rule.action.status"),
        ({"action": {"kind": "status", "status": "429"}}, "rule.action.status"),
        ({"action": {"kind": "status", "message": 3}}, "rule.action.message"),
        ({"action": {"kind": "status", "retry_after": -1}}, "rule.action.retry_after"),
        ({"action": {"kind": "status", "retry_unit": "hours"}}, "rule.action.retry_unit"),
        ({"action": {"kind": "latency"}}, "rule.action.delay"),
        ({"action": {"kind": "timeout"}}, "rule.action.delay"),
        ({"action": {"kind": "latency", "delay": -0.1}}, "rule.action.delay"),
        ({"action": {"kind": "latency", "delay": MAX_DELAY + 1}}, "rule.action.delay"),
        ({"action": {"kind": "latency", "delay": ["normal", 1, 2]}}, "rule.action.delay"),
        ({"action": {"kind": "latency", "delay": ["uniform", 2, 1]}}, "rule.action.delay"),
        ({"action": {"kind": "latency", "delay": ["uniform", 1]}}, "rule.action.delay"),
        ({"action": {"kind": "latency", "delay": "1"}}, "rule.action.delay"),
        ({"action": {"kind": "truncate", "fraction": 1.5}}, "rule.action.fraction"),
        ({"action": {"kind": "dribble", "chunk": 0}}, "rule.action.chunk"),
        ({"action": {"kind": "dribble", "chunk": 1.5}}, "rule.action.chunk"),
    ],
)
def test_a_bad_rule_names_its_field(raw: Any, field: str) -> None:
    with pytest.raises(FaultError) as info:
        parse_rule(raw, default_id="r1")
    assert str(info.value).startswith(field), str(info.value)


def test_parse_rules_names_the_index_of_the_bad_rule() -> None:
    with pytest.raises(FaultError, match=r"^rules\[1\]\.action\.kind"):
        parse_rules([{"action": STATUS_429}, {"action": {"kind": "nope"}}])
    with pytest.raises(FaultError, match="^rules: expected a list"):
        parse_rules({"action": STATUS_429})


def test_parse_defaults_and_round_trip() -> None:
    rules = parse_rules(
        [
            {"action": STATUS_429},
            {
                "id": "slow",
                "name": "slow one",
                "match": {"provider": "xai", "nth": [3, 2, 3], "probability": 0.5},
                "action": {"kind": "latency", "delay": ["uniform", 0.1, 0.2]},
                "times": None,
            },
            {"action": {"kind": "dribble"}},
        ],
        taken={"r1", "r3"},
        added_at=12.5,
    )
    assert [r.id for r in rules] == ["r2", "slow", "r4"]  # the first free rN, in order
    first, slow, dribble = rules
    assert first.times == 1 and first.added_at == 12.5 and first.match.probability == 1.0
    assert first.action.status == 429 and first.action.retry_after is None
    assert slow.match.nth == (2, 3)  # sorted, deduplicated
    assert slow.times is None
    assert slow.to_json() == {
        "id": "slow",
        "name": "slow one",
        "match": {"provider": "xai", "nth": [2, 3], "probability": 0.5},
        "action": {"kind": "latency", "delay": ["uniform", 0.1, 0.2]},
        "times": None,
    }
    assert (
        dribble.action.delay == Delay("fixed", 0.05, 0.0, MAX_DELAY) and dribble.action.chunk == 16
    )
    # to_json parses back to the same rule
    for r in rules:
        again = parse_rule(r.to_json(), default_id="x", added_at=r.added_at)
        assert again == r
    assert parse_rule({"match": {"nth": 4}, "action": STATUS_429}, default_id="z").match.nth == (4,)


# --- first mode, budgets, nth -------------------------------------------------------------------


def test_first_mode_the_first_matching_rule_wins_and_others_are_not_counted() -> None:
    p = plan(rule("a", {"provider": "xai"}, times=None), rule("b", times=None))
    assert fired_ids(p, [call("xai"), call("hume"), call("xai")]) == ["a", "b", "a"]
    counts = {s["id"]: (s["seen"], s["fired"]) for s in p.state()}
    assert counts == {"a": (2, 2), "b": (1, 1)}


@pytest.mark.parametrize(("times", "fires"), [(1, 1), (3, 3), (None, 10)])
def test_times_is_the_budget(times: int | None, fires: int) -> None:
    p = plan(rule("a", times=times))
    decided = fired_ids(p, [call() for _ in range(10)])
    assert decided == ["a"] * fires + [None] * (10 - fires)
    (state,) = p.state()
    assert state["fired"] == fires
    assert state["left"] == (None if times is None else 0)


def test_a_spent_rule_lets_the_next_one_fire() -> None:
    p = plan(rule("a", times=2), rule("b", times=1))
    assert fired_ids(p, [call() for _ in range(4)]) == ["a", "a", "b", None]


def test_nth_picks_matching_calls_by_number() -> None:
    p = plan(rule("a", {"operation": "get", "nth": [2, 4]}, times=None))
    calls = [call(operation=op) for op in ["get", "list", "get", "get", "list", "get", "get"]]
    assert fired_ids(p, calls) == [None, None, "a", None, None, "a", None]
    (state,) = p.state()
    assert (state["seen"], state["fired"]) == (5, 2)


def test_decision_reports_the_call_number() -> None:
    p = plan(rule("a", {"nth": [3]}))
    decisions = [p.decide(call()) for _ in range(3)]
    assert decisions[:2] == [None, None]
    assert decisions[2] is not None and decisions[2].call_number == 3
    assert decisions[2].describe() == "a: status"
    named = plan(rule("b", name="throttle"))
    fired = named.decide(call())
    assert fired is not None and fired.describe() == "b (throttle): status"


@pytest.mark.parametrize(
    ("match", "hits"),
    [
        ({"provider": "xai"}, [False, True, False, False]),
        ({"operation": "get"}, [False, False, True, True]),
        ({"tenant": "k2"}, [False, False, False, True]),
        ({"job_id": "j1"}, [False, False, True, False]),
        ({"provider": "hume", "operation": "get", "job_id": "j1"}, [False, False, True, False]),
    ],
)
def test_match_fields(match: dict[str, Any], hits: list[bool]) -> None:
    calls = [
        call("hume", "start_job"),
        call("xai", "create_batch"),
        call("hume", "get", job_id="j1"),
        call("hume", "get", job_id="j2", tenant="k2"),
    ]
    p = plan(rule("a", match, times=None))
    assert [p.decide(c) is not None for c in calls] == hits


def test_after_and_until_window_counts_from_when_the_rule_was_added() -> None:
    r = parse_rule(
        {"match": {"after_s": 10, "until_s": 20}, "action": STATUS_429, "times": None},
        default_id="w",
        added_at=100.0,
    )
    p = plan(r)
    at = [105.0, 109.999, 110.0, 115.0, 119.999, 120.0, 150.0]
    assert [p.decide(call(now=t)) is not None for t in at] == [
        False,
        False,
        True,
        True,
        True,
        False,
        False,
    ]
    (state,) = p.state()
    assert state["seen"] == 3  # calls outside the window are not counted


# --- probability --------------------------------------------------------------------------------


def _pattern(seed: int, n: int = 200, probability: float = 0.3) -> list[bool]:
    p = plan(rule("dice", {"probability": probability}, times=None), seed=seed)
    return [p.decide(call()) is not None for _ in range(n)]


def test_probability_is_reproducible_by_seed() -> None:
    first = _pattern(7)
    assert first == _pattern(7)
    assert first != _pattern(8)
    assert 30 < sum(first) < 90  # about 30 % of 200


def test_probability_does_not_depend_on_other_plans_or_interleaving() -> None:
    """Dice are keyed by (seed, rule id, call number): unrelated calls in between change
    nothing."""
    p = plan(
        rule("dice", {"provider": "hume", "probability": 0.5}, times=None),
        rule("other", {"provider": "xai"}, times=None),
        seed=3,
    )
    mixed = []
    for i in range(100):
        mixed.append(p.decide(call("hume")) is not None)
        if i % 3 == 0:
            p.decide(call("xai"))
    alone = plan(rule("dice", {"provider": "hume", "probability": 0.5}, times=None), seed=3)
    assert mixed == [alone.decide(call("hume")) is not None for _ in range(100)]


def test_probability_zero_and_one() -> None:
    assert not any(_pattern(1, 50, 0.0))
    assert all(_pattern(1, 50, 1.0))


# --- ordered mode -------------------------------------------------------------------------------


def ordered_plan() -> FaultPlan:
    return plan(
        rule("create", {"operation": "create"}),
        rule("get", {"operation": "get"}, times=2),
        rule("cancel", {"operation": "cancel"}),
        mode="ordered",
    )


def test_ordered_plays_the_script_in_order() -> None:
    p = ordered_plan()
    ops = ["create", "get", "list", "get", "cancel", "get", "cancel"]
    assert fired_ids(p, [call(operation=o) for o in ops]) == [
        "create",
        "get",
        None,  # matches no step: not out of order
        "get",
        "cancel",
        None,  # the script is over
        None,
    ]


def test_ordered_a_later_step_first_is_out_of_order_and_names_the_expected_step() -> None:
    p = ordered_plan()
    fired = p.decide(call(operation="get"))
    assert fired is not None and fired.out_of_order and fired.rule is None
    assert fired.expected is not None and fired.expected.id == "create"
    assert fired.describe() == "out of order: expected rule create first"
    # nothing was consumed: the script still starts at create
    assert fired_ids(p, [call(operation="create"), call(operation="cancel")]) == [
        "create",
        "!get",
    ]


def test_first_mode_never_reports_out_of_order() -> None:
    p = plan(rule("create", {"operation": "create"}), rule("get", {"operation": "get"}))
    assert fired_ids(p, [call(operation="get"), call(operation="create")]) == ["get", "create"]


# --- add, remove, clear, state --------------------------------------------------------------------


def test_rule_ids_are_unique_in_a_plan() -> None:
    p = plan(rule("a"))
    with pytest.raises(FaultError, match="'a' is already in use"):
        p.add([rule("b"), rule("a")])
    with pytest.raises(FaultError, match="'c' is already in use"):
        p.add([rule("c"), rule("c")])
    assert [r.id for r in p.rules] == ["a"]  # all or nothing


def test_remove_and_clear_forget_counters() -> None:
    p = plan(rule("a", times=None), rule("b", times=None))
    p.decide(call())
    assert p.remove("a") is True
    assert p.remove("a") is False
    assert [s["id"] for s in p.state()] == ["b"]
    p.add([rule("a", times=None)])
    states = {s["id"]: s for s in p.state()}
    assert (states["a"]["seen"], states["a"]["fired"]) == (0, 0)
    p.clear()
    assert p.state() == [] and p.decide(call()) is None


def test_state_shows_rule_json_and_counters() -> None:
    p = plan(rule("a", {"provider": "hume"}, times=3, name="n"))
    p.decide(call())
    p.decide(call("xai"))
    assert p.state() == [
        {
            "id": "a",
            "name": "n",
            "match": {"provider": "hume"},
            "action": {"kind": "status", "status": 429},
            "times": 3,
            "seen": 1,
            "fired": 1,
            "left": 2,
        }
    ]


# --- delays -------------------------------------------------------------------------------------


def test_delays_stay_in_bounds() -> None:
    rng = random.Random(1)
    assert Delay("fixed", 0.25).draw(rng) == 0.25
    uniform = [Delay("uniform", 0.1, 0.2).draw(rng) for _ in range(500)]
    assert all(0.1 <= d <= 0.2 for d in uniform)
    lognormal = [Delay("lognormal", 1.0, 3.0, MAX_DELAY).draw(rng) for _ in range(2000)]
    assert all(0.0 <= d <= MAX_DELAY for d in lognormal)
    assert max(lognormal) == MAX_DELAY  # the tail is capped
    assert Delay("lognormal", 0.0, 0.0).draw(rng) < 1e-6  # median 0: next to nothing


def test_drawn_delay_is_reproducible_per_call() -> None:
    def delays(seed: int) -> list[float]:
        r = rule("slow", action={"kind": "latency", "delay": ["uniform", 0, 1]}, times=None)
        p = plan(r, seed=seed)
        return [p.decide(call()).delay for _ in range(20)]  # type: ignore[union-attr]

    assert delays(1) == delays(1)
    assert delays(1) != delays(2)
    assert all(0 <= d <= 1 for d in delays(1))


# --- the book -----------------------------------------------------------------------------------


def book(seeds: dict[str | None, int] | None = None) -> FaultBook:
    table = seeds or {}
    return FaultBook(lambda tenant: table.get(tenant, 0))


def test_tenant_plan_is_consulted_before_the_global_one() -> None:
    b = book()
    b.install([{"id": "global", "action": STATUS_429, "times": None}], tenant=None, now=0)
    b.install([{"id": "mine", "action": STATUS_429}], tenant="k1", now=0)
    decided = [b.decide(call(tenant=t)) for t in ["k1", "k1", "k2", None]]
    assert [d.rule.id for d in decided if d and d.rule] == ["mine", "global", "global", "global"]


def test_install_gives_default_ids_across_scopes_and_is_all_or_nothing() -> None:
    b = book()
    added = b.install([{"action": STATUS_429}, {"action": STATUS_429}], tenant=None, now=5)
    assert [r.id for r in added] == ["r1", "r2"] and added[0].added_at == 5
    assert [r.id for r in b.install([{"action": STATUS_429}], tenant="k", now=0)] == ["r3"]
    with pytest.raises(FaultError):
        b.install([{"action": STATUS_429}, {"action": {}}], tenant="k", now=0)
    assert [r.id for r in b.plan("k").rules] == ["r3"]
    with pytest.raises(FaultError, match="^mode"):
        b.install([{"action": STATUS_429}], tenant="k", now=0, mode="random")  # type: ignore[arg-type]


def test_install_replace_and_mode() -> None:
    b = book()
    b.install([{"id": "a", "action": STATUS_429}], tenant=None, now=0)
    b.install([{"id": "b", "action": STATUS_429}], tenant=None, now=0, replace_all=True)
    assert [r.id for r in b.plan(None).rules] == ["b"]
    b.install([{"id": "c", "action": STATUS_429}], tenant=None, now=0, mode="ordered")
    assert b.plan(None).mode == "ordered"


def test_plans_take_their_tenants_seed() -> None:
    b = book({None: 11, "k": 22})
    assert b.plan(None).seed == 11 and b.plan("k").seed == 22 and b.plan("other").seed == 0


def test_book_remove_and_reset() -> None:
    b = book()
    b.install([{"id": "g", "action": STATUS_429}], tenant=None, now=0)
    b.install([{"id": "t", "action": STATUS_429}], tenant="k", now=0)
    assert b.remove("t") is True and b.remove("t") is False
    b.install([{"id": "t2", "action": STATUS_429}], tenant="k", now=0)
    b.reset("k")
    assert "k" not in b.plans() and [r.id for r in b.plan(None).rules] == ["g"]
    b.reset()
    assert b.plans() == {}
    assert [r.id for r in b.install([{"action": STATUS_429}], tenant=None, now=0)] == ["r1"]
