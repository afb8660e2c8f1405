"""Fault rules as data: which calls they match, what they do, how often, reproducibly.

A :class:`Rule` pairs a :class:`Match` (provider, operation, tenant, job id, which matching calls
by number, a window on the tenant's clock, a probability) with an :class:`Action` (an HTTP status
with the vendor's error body and ``Retry-After``, latency, a reset connection, a truncated or
malformed body, a slow dribble, a timeout) and a budget (``times``: fire once, N times, or until
removed). A :class:`FaultPlan` holds rules for one scope (a tenant, or every tenant) in one of two
modes (DESIGN.md "Faults and scenarios"):

- ``first``: the first rule that matches and fires wins; the others are not consulted;
- ``ordered``: the rules are a script that must be played in order: a call that matches a later
  rule while an earlier one still has budget is *out of order*, and the plan says so loudly
  (:class:`Fired` with ``out_of_order``) instead of silently skipping a step.

Dice are reproducible: a rule's probability for its n-th matching call is drawn from an RNG keyed
by (seed, rule id, n), so the same seed and the same calls give the same faults whatever threads
interleave. Pure: no Flask, no clock reads (``now`` is passed in), no I/O.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from .profiles import Dist

__all__ = [
    "ACTIONS",
    "Action",
    "Call",
    "Delay",
    "FaultBook",
    "FaultError",
    "FaultPlan",
    "Fired",
    "Match",
    "Rule",
    "parse_rule",
    "parse_rules",
]

ActionKind = Literal[
    # HTTP calls (and webhook deliveries: status, latency, reset)
    "status", "latency", "reset", "truncate", "malformed", "dribble", "timeout",
    # the job a call creates
    "lifecycle",
    # webhook deliveries
    "drop", "duplicate", "bad_signature", "reorder", "signature_probe",
    # websocket streams (and latency, malformed)
    "cut", "spam",
]  # fmt: skip
ACTIONS: tuple[str, ...] = get_args(ActionKind)
Mode = Literal["first", "ordered"]
RetryUnit = Literal["seconds", "ms", "date"]
MAX_DELAY = 300.0  # no fault holds a request thread longer than five minutes


class FaultError(ValueError):
    """A rule that cannot be used; the message says which field and why."""


#: A delay is a profile duration (``engine/profiles.Dist``: fixed, uniform or log-normal);
#: a fault's draw is capped at :data:`MAX_DELAY`.
Delay = Dist


def _delay_json(delay: Dist) -> Any:
    """The rule-file form: seconds, or ``[kind, a, b]``."""
    return delay.a if delay.kind == "fixed" else [delay.kind, delay.a, delay.b]


@dataclass(frozen=True)
class Match:
    """Which calls a rule applies to; ``None`` fields match anything."""

    provider: str | None = None
    operation: str | None = None
    tenant: str | None = None
    job_id: str | None = None
    #: 1-based numbers of the matching calls to act on (``[2, 3]``: the second and third).
    nth: tuple[int, ...] | None = None
    #: Act only from this many seconds after the rule was added (tenant clock) ...
    after_s: float | None = None
    #: ... and only until this many.
    until_s: float | None = None
    probability: float = 1.0

    def selects(self, call: Call) -> bool:
        """The static part: does ``call`` concern this rule at all?"""
        return all(
            want is None or want == got
            for want, got in (
                (self.provider, call.provider),
                (self.operation, call.operation),
                (self.tenant, call.tenant),
                (self.job_id, call.job_id),
            )
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("provider", "operation", "tenant", "job_id", "after_s", "until_s"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.nth is not None:
            out["nth"] = list(self.nth)
        if self.probability != 1.0:
            out["probability"] = self.probability
        return out


@dataclass(frozen=True)
class Action:
    """What a fired rule does to the call."""

    kind: ActionKind
    #: ``status``: the HTTP status; the body is the vendor's error shape with ``message``.
    status: int = 500
    message: str | None = None
    #: ``Retry-After`` for 429/503 (None: no header), and how it is written.
    retry_after: float | None = None
    retry_unit: RetryUnit = "seconds"
    #: ``latency``: added before the call runs; ``timeout``: how long the call is held before
    #: the connection is dropped; ``dribble``: the pause between chunks.
    delay: Delay = Delay("fixed", 0.0, 0.0, MAX_DELAY)
    #: ``truncate``/``malformed``: the share of the body that is sent (0..1).
    fraction: float = 0.5
    #: ``dribble``: bytes per chunk.
    chunk: int = 16
    #: ``cut``: frames sent before the connection drops; ``spam``: status frames sent before
    #: each result; ``duplicate``: extra copies of a delivery.
    count: int = 1
    #: ``lifecycle``: the job the call creates follows this profile and these overrides
    #: (``engine/profiles.py``: ``stuck``, ``job_failure_rate``, ``failure_at``,
    #: ``item_error_rate``, ``error_messages``, ``queue_wait``, ``run_time``, ...).
    profile: str | None = None
    overrides: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "status":
            out["status"] = self.status
            if self.message is not None:
                out["message"] = self.message
            if self.retry_after is not None:
                out["retry_after"] = self.retry_after
                out["retry_unit"] = self.retry_unit
        if self.kind in ("latency", "timeout", "dribble"):
            out["delay"] = _delay_json(self.delay)
        if self.kind in ("truncate", "malformed"):
            out["fraction"] = self.fraction
        if self.kind == "dribble":
            out["chunk"] = self.chunk
        if self.kind in ("cut", "spam", "duplicate"):
            out["count"] = self.count
        if self.kind == "lifecycle":
            if self.profile is not None:
                out["profile"] = self.profile
            if self.overrides is not None:
                out["overrides"] = dict(self.overrides)
        return out


@dataclass(frozen=True)
class Rule:
    id: str
    match: Match
    action: Action
    #: How many times it may fire (None: until removed).
    times: int | None = 1
    name: str | None = None
    #: Tenant-clock time the rule was added (``after_s``/``until_s`` count from here).
    added_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.name:
            out["name"] = self.name
        out["match"] = self.match.to_json()
        out["action"] = self.action.to_json()
        out["times"] = self.times
        return out


@dataclass(frozen=True)
class Call:
    """One call as the rules see it."""

    provider: str
    operation: str
    tenant: str | None
    job_id: str | None = None
    now: float = 0.0


@dataclass(frozen=True)
class Fired:
    """A decision: the rule that fired (its counters after this call) and the drawn delay.

    ``out_of_order`` is set instead in ``ordered`` mode when the call matched a later step:
    ``expected`` names the step still waiting.
    """

    rule: Rule | None
    delay: float = 0.0
    out_of_order: bool = False
    expected: Rule | None = None
    call_number: int = 0

    def describe(self) -> str:
        if self.out_of_order and self.expected is not None:
            return f"out of order: expected rule {self.expected.id} first"
        assert self.rule is not None
        label = f"{self.rule.id}" + (f" ({self.rule.name})" if self.rule.name else "")
        return f"{label}: {self.rule.action.kind}"


@dataclass
class _Counters:
    seen: int = 0
    fired: int = 0


@dataclass
class FaultPlan:
    """The rules of one scope and their counters; safe to share between request threads."""

    seed: int = 0
    mode: Mode = "first"
    rules: list[Rule] = field(default_factory=list)
    _counts: dict[str, _Counters] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, rules: Iterable[Rule]) -> list[Rule]:
        with self._lock:
            added = list(rules)
            known = {r.id for r in self.rules}
            for rule in added:
                if rule.id in known:
                    raise FaultError(f"rule id {rule.id!r} is already in use")
                known.add(rule.id)
            self.rules.extend(added)
            return added

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self.rules)
            self.rules = [r for r in self.rules if r.id != rule_id]
            self._counts.pop(rule_id, None)
            return len(self.rules) != before

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self._counts.clear()

    def state(self) -> list[dict[str, Any]]:
        """Each rule with how many matching calls it saw and how often it fired."""
        with self._lock:
            out = []
            for rule in self.rules:
                counts = self._counts.get(rule.id, _Counters())
                left = None if rule.times is None else max(0, rule.times - counts.fired)
                out.append({**rule.to_json(), "seen": counts.seen, "fired": counts.fired,
                            "left": left})  # fmt: skip
            return out

    def decide(self, call: Call) -> Fired | None:
        """The fault for ``call``, or None; counts the call against every rule it concerns."""
        with self._lock:
            if self.mode == "ordered":
                return self._ordered(call)
            return self._first(call)

    def _first(self, call: Call) -> Fired | None:
        for rule in self.rules:
            fired = self._try(rule, call)
            if fired is not None:
                return fired
        return None

    def _ordered(self, call: Call) -> Fired | None:
        head = next((r for r in self.rules if not self._spent(r)), None)
        if head is None:
            return None
        fired = self._try(head, call)
        if fired is not None:
            return fired
        for later in self.rules[self.rules.index(head) + 1 :]:
            if not self._spent(later) and later.match.selects(call):
                return Fired(None, out_of_order=True, expected=head)
        return None

    def _spent(self, rule: Rule) -> bool:
        counts = self._counts.get(rule.id)
        return rule.times is not None and counts is not None and counts.fired >= rule.times

    def _try(self, rule: Rule, call: Call) -> Fired | None:
        match = rule.match
        if self._spent(rule) or not match.selects(call):
            return None
        elapsed = call.now - rule.added_at
        if match.after_s is not None and elapsed < match.after_s:
            return None
        if match.until_s is not None and elapsed >= match.until_s:
            return None
        counts = self._counts.setdefault(rule.id, _Counters())
        counts.seen += 1
        number = counts.seen
        if match.nth is not None and number not in match.nth:
            return None
        rng = _rng(self.seed, rule.id, number)
        if match.probability < 1.0 and rng.random() >= match.probability:
            return None
        counts.fired += 1
        delay = min(MAX_DELAY, rule.action.delay.draw(rng))
        return Fired(rule, delay=delay, call_number=number)


def _rng(seed: int, rule_id: str, number: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}/{rule_id}/{number}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


# --- parsing ----------------------------------------------------------------------------------

_MATCH_KEYS = {"provider", "operation", "tenant", "job_id", "nth", "after_s", "until_s",
               "probability"}  # fmt: skip
_ACTION_KEYS = {"kind", "status", "message", "retry_after", "retry_unit", "delay", "fraction",
                "chunk", "count", "profile", "overrides"}  # fmt: skip
_RULE_KEYS = {"id", "name", "match", "action", "times"}


def _fail(where: str, why: str) -> FaultError:
    return FaultError(f"{where}: {why}")


def _number(raw: Any, where: str, *, low: float = 0.0, high: float | None = None) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise _fail(where, f"expected a number, got {raw!r}")
    value = float(raw)
    if value < low or (high is not None and value > high):
        limit = f"{low}..{high}" if high is not None else f">= {low}"
        raise _fail(where, f"{value} is outside {limit}")
    return value


def _delay(raw: Any, where: str) -> Delay:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return Delay("fixed", _number(raw, where, high=MAX_DELAY), 0.0, MAX_DELAY)
    if isinstance(raw, Sequence) and not isinstance(raw, str) and len(raw) == 3:
        kind, a, b = raw
        if kind not in ("uniform", "lognormal"):
            raise _fail(where, f"distribution must be uniform or lognormal, got {kind!r}")
        lo, hi = _number(a, where, high=MAX_DELAY), _number(b, where, high=MAX_DELAY)
        if kind == "uniform" and hi < lo:
            raise _fail(where, "uniform needs low <= high")
        return Delay(kind, lo, hi, MAX_DELAY)
    raise _fail(where, 'expected seconds, ["uniform", low, high] or ["lognormal", median, sigma]')


def _unknown(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise _fail(
            where, f"unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}"
        )


def _match(raw: Any, where: str) -> Match:
    if raw is None:
        return Match()
    if not isinstance(raw, Mapping):
        raise _fail(where, "expected an object")
    _unknown(raw, _MATCH_KEYS, where)
    strings: dict[str, str | None] = {}
    for key in ("provider", "operation", "tenant", "job_id"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise _fail(f"{where}.{key}", f"expected a string, got {value!r}")
        strings[key] = value
    nth = raw.get("nth")
    if nth is not None:
        if isinstance(nth, int) and not isinstance(nth, bool):
            nth = [nth]
        if (
            not isinstance(nth, list)
            or not nth
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in nth)
        ):
            raise _fail(f"{where}.nth", "expected a call number >= 1 or a list of them")
        nth = tuple(sorted(set(nth)))
    after = raw.get("after_s")
    until = raw.get("until_s")
    return Match(
        provider=strings["provider"],
        operation=strings["operation"],
        tenant=strings["tenant"],
        job_id=strings["job_id"],
        nth=nth,
        after_s=None if after is None else _number(after, f"{where}.after_s"),
        until_s=None if until is None else _number(until, f"{where}.until_s"),
        probability=_number(raw.get("probability", 1.0), f"{where}.probability", high=1.0),
    )


def _action(raw: Any, where: str) -> Action:
    if not isinstance(raw, Mapping):
        raise _fail(where, "expected an object with a kind")
    _unknown(raw, _ACTION_KEYS, where)
    kind = raw.get("kind")
    if kind not in ACTIONS:
        raise _fail(f"{where}.kind", f"expected one of {', '.join(ACTIONS)}, got {kind!r}")
    action = Action(kind)
    if "status" in raw:
        status = raw["status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise _fail(
                f"{where}.status", f"expected an HTTP error status 400..599, got {status!r}"
            )
        action = replace(action, status=status)
    if raw.get("message") is not None:
        if not isinstance(raw["message"], str):
            raise _fail(f"{where}.message", "expected a string")
        action = replace(action, message=raw["message"])
    if raw.get("retry_after") is not None:
        action = replace(action, retry_after=_number(raw["retry_after"], f"{where}.retry_after"))
    if "retry_unit" in raw:
        if raw["retry_unit"] not in get_args(RetryUnit):
            raise _fail(f"{where}.retry_unit", "expected seconds, ms or date")
        action = replace(action, retry_unit=raw["retry_unit"])
    if "delay" in raw:
        action = replace(action, delay=_delay(raw["delay"], f"{where}.delay"))
    elif kind in ("latency", "timeout"):
        raise _fail(f"{where}.delay", f"a {kind} needs a delay")
    elif kind == "dribble":
        action = replace(action, delay=Delay("fixed", 0.05, 0.0, MAX_DELAY))
    if "fraction" in raw:
        action = replace(action, fraction=_number(raw["fraction"], f"{where}.fraction", high=1.0))
    if "chunk" in raw:
        chunk = raw["chunk"]
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise _fail(f"{where}.chunk", "expected bytes per chunk >= 1")
        action = replace(action, chunk=chunk)
    if "count" in raw:
        count = raw["count"]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
            raise _fail(f"{where}.count", "expected a count 0..10000")
        action = replace(action, count=count)
    elif kind == "cut":
        action = replace(action, count=0)
    if kind == "reorder" and "delay" not in raw:
        action = replace(action, delay=Delay("fixed", 1.0, 0.0, MAX_DELAY))
    if kind == "lifecycle":
        action = _lifecycle(action, raw, where)
    return action


def _lifecycle(action: Action, raw: Mapping[str, Any], where: str) -> Action:
    """A profile and/or overrides, checked now the way a job submission would check them."""
    from .profiles import get_profile

    profile, overrides = raw.get("profile"), raw.get("overrides")
    if profile is None and overrides is None:
        raise _fail(where, "a lifecycle fault needs a profile or overrides")
    if profile is not None and not isinstance(profile, str):
        raise _fail(f"{where}.profile", "expected a profile name")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise _fail(f"{where}.overrides", "expected an object of profile fields")
    try:
        get_profile(profile or "instant").with_overrides(overrides)
    except (ValueError, KeyError) as exc:
        raise _fail(where, str(exc).strip("'\"")) from None
    return replace(action, profile=profile, overrides=dict(overrides) if overrides else None)


def parse_rule(raw: Any, *, default_id: str, added_at: float = 0.0, where: str = "rule") -> Rule:
    """A rule from its JSON/YAML form; :class:`FaultError` names the first bad field."""
    if not isinstance(raw, Mapping):
        raise _fail(where, "expected an object with match and action")
    _unknown(raw, _RULE_KEYS, where)
    rule_id = raw.get("id", default_id)
    if not isinstance(rule_id, str) or not rule_id or "/" in rule_id:
        raise _fail(f"{where}.id", "expected a non-empty string without '/'")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise _fail(f"{where}.name", "expected a string")
    times = raw.get("times", 1)
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise _fail(f"{where}.times", "expected a count >= 1, or null for until removed")
    return Rule(
        id=rule_id,
        match=_match(raw.get("match"), f"{where}.match"),
        action=_action(raw.get("action"), f"{where}.action"),
        times=times,
        name=name,
        added_at=added_at,
    )


def parse_rules(raw: Any, *, taken: Iterable[str] = (), added_at: float = 0.0) -> list[Rule]:
    """A list of rules; a rule without an id gets the first free ``r1``, ``r2``, ... (free:
    not in ``taken`` and not given to another rule of the list). Ids must be unique."""
    if not isinstance(raw, list):
        raise FaultError("rules: expected a list")
    used = set(taken)
    explicit = [item.get("id") for item in raw if isinstance(item, Mapping)]
    if len([i for i in explicit if i is not None]) != len({i for i in explicit if i is not None}):
        raise FaultError("rules: two rules have the same id")
    used |= {i for i in explicit if isinstance(i, str)}
    counter = 0
    rules = []
    for index, item in enumerate(raw):
        default = ""
        if not (isinstance(item, Mapping) and "id" in item):
            counter += 1
            while f"r{counter}" in used:
                counter += 1
            default = f"r{counter}"
            used.add(default)
        rules.append(
            parse_rule(item, default_id=default, added_at=added_at, where=f"rules[{index}]")
        )
    return rules


class FaultBook:
    """Every plan of one server: one for all tenants and one per tenant (its own seed).

    A tenant's plan is consulted before the server-wide one, so a CI shard can rehearse an
    outage without touching the others. ``seed_for`` gives each plan its seed (the tenant's).
    """

    def __init__(self, seed_for: Callable[[str | None], int]) -> None:
        self._seed_for = seed_for
        self._plans: dict[str | None, FaultPlan] = {}
        self._lock = threading.Lock()

    def plan(self, tenant: str | None) -> FaultPlan:
        with self._lock:
            found = self._plans.get(tenant)
            if found is None:
                found = self._plans[tenant] = FaultPlan(seed=self._seed_for(tenant))
            return found

    def plans(self) -> dict[str | None, FaultPlan]:
        with self._lock:
            return dict(self._plans)

    def install(
        self,
        raw_rules: Any,
        *,
        tenant: str | None,
        now: float,
        mode: Mode | None = None,
        replace_all: bool = False,
    ) -> list[Rule]:
        """Parse and add rules to a scope, all or nothing: nothing changes unless every rule,
        the mode and the ids are good. Rule ids are unique across every plan, so one id names
        one rule; ``replace_all`` empties the scope first (its ids become free)."""
        if mode is not None and mode not in get_args(Mode):
            raise FaultError(f"mode: expected first or ordered, got {mode!r}")
        plan = self.plan(tenant)
        with self._lock:
            taken = {
                rule.id
                for scope, other in self._plans.items()
                if not (replace_all and scope == tenant)
                for rule in other.rules
            }
            rules = parse_rules(raw_rules, taken=taken, added_at=now)
            clash = sorted(r.id for r in rules if r.id in taken)
            if clash:
                raise FaultError(f"rule id {clash[0]!r} is already in use")
            if replace_all:
                plan.clear()
            if mode is not None:
                plan.mode = mode
            return plan.add(rules)

    def concerns(self, tenant: str | None) -> bool:
        """Whether any rule could fire for this tenant's calls (a cheap check per request: most
        requests meet no rules, and need no :class:`Call` built)."""
        plans = self._plans
        for scope in (tenant, None):
            plan = plans.get(scope)
            if plan is not None and plan.rules:
                return True
        return False

    def decide(self, call: Call) -> Fired | None:
        for scope in (call.tenant, None) if call.tenant is not None else (None,):
            with self._lock:
                plan = self._plans.get(scope)
            if plan is not None and plan.rules:
                fired = plan.decide(call)
                if fired is not None:
                    return fired
        return None

    def remove(self, rule_id: str) -> bool:
        """Remove the rule with this id from whichever plan holds it (every plan, to be sure)."""
        removed = [plan.remove(rule_id) for plan in self.plans().values()]
        return any(removed)

    def reset(self, tenant: str | None = None) -> None:
        with self._lock:
            if tenant is None:
                self._plans.clear()
            else:
                self._plans.pop(tenant, None)
