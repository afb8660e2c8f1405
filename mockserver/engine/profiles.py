"""Lifecycle profiles: the distributions a plan is drawn from.

A profile is data. ``instant`` is the CI default (everything done at submit), ``fast`` gives
sub-second phases on the real clock, ``realistic`` seconds-to-minutes log-normal phases, and
``manual`` fixed one-second phases on a frozen clock, so nothing moves until the clock is
advanced or a job is stepped. Per-job overrides replace any field by name.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["PROFILES", "Dist", "Profile", "get_profile", "profile_names"]

DistKind = Literal["fixed", "uniform", "lognormal"]


@dataclass(frozen=True)
class Dist:
    """A duration distribution in seconds.

    ``fixed``: always ``a``. ``uniform``: between ``a`` and ``b``. ``lognormal``: median ``a``
    and shape ``b`` (sigma of the underlying normal), capped at ``cap`` so a draw can never
    produce an absurd wait.
    """

    kind: DistKind = "fixed"
    a: float = 0.0
    b: float = 0.0
    cap: float = 3600.0

    def draw(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            value = self.a
        elif self.kind == "uniform":
            value = rng.uniform(self.a, self.b)
        else:
            value = rng.lognormvariate(math.log(max(self.a, 1e-9)), self.b)
        return round(min(max(value, 0.0), self.cap), 6)

    @classmethod
    def parse(cls, raw: object) -> Dist:
        """Accept a number (fixed), ``[a, b]`` (uniform) or a mapping with the fields."""
        if isinstance(raw, Dist):
            return raw
        if isinstance(raw, bool):
            raise ValueError("a duration must be a number, [low, high] or a mapping")
        if isinstance(raw, int | float):
            return cls("fixed", float(raw))
        if isinstance(raw, list | tuple) and len(raw) == 2:
            low, high = (float(v) for v in raw)
            if high < low:
                raise ValueError("a uniform duration needs low <= high")
            return cls("uniform", low, high)
        if isinstance(raw, Mapping):
            kind = raw.get("kind", "fixed")
            if kind not in ("fixed", "uniform", "lognormal"):
                raise ValueError(f"unknown distribution {kind!r}; valid: fixed, uniform, lognormal")
            return cls(
                kind,
                float(raw.get("a", raw.get("median", raw.get("low", 0.0)))),
                float(raw.get("b", raw.get("sigma", raw.get("high", 0.0)))),
                float(raw.get("cap", 3600.0)),
            )
        raise ValueError("a duration must be a number, [low, high] or a mapping")


@dataclass(frozen=True)
class Profile:
    """How a plan is drawn: phase durations and outcome rates.

    ``item_error_rate`` draws per-item errors with a message from ``error_messages``;
    ``job_failure_rate`` fails the whole job once ``failure_at`` of its items have ended;
    ``stuck`` pins the job in ``queued`` or ``running`` until it is stepped.
    ``expire_after`` makes the job expire that many seconds after submission (earlier than the
    provider's own expiry, if it has one): what was unfinished is cut off as ``expired``.
    ``cancel_landing`` emulates the race seen live on xAI (xai-batch.md §4): after a cancel,
    items that were already running show ``cancelled``, then land with their own outcome this
    many seconds later, so counters move after the cancel.
    ``frozen_clock`` asks the server to freeze the clock when the profile is selected.
    """

    name: str
    queue_wait: Dist = field(default_factory=Dist)
    run_time: Dist = field(default_factory=Dist)
    item_error_rate: float = 0.0
    job_failure_rate: float = 0.0
    failure_at: float = 0.5
    stuck: Literal["none", "queued", "running"] = "none"
    error_messages: tuple[str, ...] = ("item failed",)
    job_failure_message: str = "job failed"
    expire_after: float | None = None
    cancel_landing: float | None = None
    frozen_clock: bool = False

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Profile:
        """Return a copy with fields replaced by ``overrides``; unknown names are refused."""
        if not overrides:
            return self
        names = {f.name for f in dataclasses.fields(self)} - {"name"}
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in names:
                raise ValueError(
                    f"unknown lifecycle override {key!r}; valid: {', '.join(sorted(names))}"
                )
            try:
                changes[key] = _coerce(key, value)
            except TypeError:  # e.g. null where a number belongs: still the caller's mistake
                raise ValueError(f"invalid value {value!r} for lifecycle override {key}") from None
        return dataclasses.replace(self, **changes)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coerce(key: str, value: Any) -> Any:
    """One override, checked as ``contracts/control.yaml`` ``LifecycleOverrides`` types it:
    JSON numbers, strings and booleans only (``"0.5"`` or ``true`` for a rate is refused, not
    read as 0.5 or 1), and no negative duration."""
    if key in ("queue_wait", "run_time"):
        numbers: list[Any]
        if isinstance(value, Mapping):
            numbers = [v for k, v in value.items() if k != "kind"]
        elif isinstance(value, list | tuple):
            numbers = list(value)
        else:
            numbers = [value]
        if not all(_is_number(v) for v in numbers):
            raise ValueError(f"{key} must be seconds as numbers, got {value!r}")
        if _is_number(value) and value < 0:
            raise ValueError(f"{key} must be >= 0 seconds, got {value!r}")
        return Dist.parse(value)
    if key in ("item_error_rate", "job_failure_rate", "failure_at"):
        if not _is_number(value):
            raise ValueError(f"{key} must be a number between 0 and 1, got {value!r}")
        number = float(value)
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"{key} must be between 0 and 1, got {value!r}")
        return number
    if key == "stuck":
        if value not in ("none", "queued", "running"):
            raise ValueError(f"stuck must be one of none, queued, running; got {value!r}")
        return value
    if key == "error_messages":
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"error_messages must be a string or a list of strings, got {value!r}")
        messages = tuple(value)
        if not messages:
            raise ValueError("error_messages needs at least one message")
        return messages
    if key == "frozen_clock":
        if not isinstance(value, bool):
            raise ValueError(f"frozen_clock must be true or false, got {value!r}")
        return value
    if key in ("expire_after", "cancel_landing"):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number of seconds >= 0, got {value!r}")
        seconds = float(value)
        if not 0.0 <= seconds < math.inf:
            raise ValueError(f"{key} must be a number of seconds >= 0, got {value!r}")
        return seconds
    if not isinstance(value, str):  # job_failure_message
        raise ValueError(f"{key} must be a string, got {value!r}")
    return value


PROFILES: dict[str, Profile] = {
    "instant": Profile("instant"),
    "fast": Profile(
        "fast",
        queue_wait=Dist("uniform", 0.05, 0.3),
        run_time=Dist("uniform", 0.05, 0.5),
    ),
    "realistic": Profile(
        "realistic",
        queue_wait=Dist("lognormal", 5.0, 0.8, cap=600.0),
        run_time=Dist("lognormal", 20.0, 0.6, cap=1800.0),
    ),
    "manual": Profile(
        "manual",
        queue_wait=Dist("fixed", 1.0),
        run_time=Dist("fixed", 1.0),
        frozen_clock=True,
    ),
}


def profile_names() -> list[str]:
    return list(PROFILES)


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; valid: {', '.join(profile_names())}") from None
