"""The Engine: the vendor-neutral operations every provider face is built from.

A provider translates its wire format into calls here (``submit``, ``add_items``, ``cancel``,
``view``, ``results``) and supplies a :class:`ProviderHooks` object that computes an item's result
and says which notifications a finished job sends. The engine owns the lifecycle, tenants,
seeds, ids and persistence; it knows no vendor field names.

Writes follow one rule: the store is written before the call returns, so a 2xx a provider sends
after an engine call is backed by durable state. Mutations of one job are serialised by a striped
lock so a scheduler pass and a client's cancel cannot lose each other's update.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from . import lifecycle
from .clock import ClockRegistry
from .ids import derive_uuid
from .lifecycle import JobState
from .profiles import get_profile
from .records import Delivery, Job
from .store.base import JobStore

__all__ = ["Engine", "Notification", "ProviderHooks", "TenantConfig"]


@dataclass(frozen=True)
class Notification:
    """A webhook a finished job sends; the engine turns it into an outbox delivery."""

    url: str
    event: str
    payload: Any = None
    body: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    signer: str = "standard"


class ProviderHooks(Protocol):
    """What a provider plugs into the engine."""

    name: str
    #: True when results are a pure function of the job and are computed when read instead of
    #: stored when items end (an xAI batch of 100,000 chat requests keeps no per-item result).
    lazy_results: bool

    def compute_result(self, job: Job, index: int) -> Any:
        """The result of item ``index`` (called once it has succeeded; must be deterministic)."""
        ...

    def notifications(self, job: Job, view: JobState) -> Sequence[Notification]:
        """The webhooks to send now that the job is terminal (often none)."""
        ...


class DeliveryFactory(Protocol):
    def make(
        self,
        *,
        tenant: str,
        job_id: str | None,
        event: str,
        url: str,
        payload: Any | None = None,
        body: str | None = None,
        headers: Mapping[str, str] | None = None,
        signer: str = "standard",
    ) -> Delivery: ...


@dataclass
class TenantConfig:
    """Per-tenant overrides of the server-wide profile and seed (``None``: inherit)."""

    profile: str | None = None
    seed: int | None = None


class Engine:
    """Jobs, tenants, clocks and side effects, independent of any vendor."""

    def __init__(
        self,
        store: JobStore,
        clocks: ClockRegistry,
        *,
        profile: str = "instant",
        seed: int = 0,
        clock_mode: Literal["system", "virtual"] = "system",
    ) -> None:
        self.store = store
        self.clocks = clocks
        self.providers: dict[str, ProviderHooks] = {}
        self.outbox: DeliveryFactory | None = None
        self.clock_mode = clock_mode
        self._profile = self._initial_profile = get_profile(profile).name
        self._seed = self._initial_seed = seed
        self._tenants: dict[str, TenantConfig] = {}
        self._locks = [threading.RLock() for _ in range(64)]
        self._listeners: list[Callable[[Job], None]] = []
        self._reset_listeners: list[Callable[[str | None], None]] = []
        self._apply_clock_policy(None)

    # --- configuration ----------------------------------------------------------------------

    def register(self, hooks: ProviderHooks) -> None:
        self.providers[hooks.name] = hooks

    def on_change(self, listener: Callable[[Job], None]) -> None:
        """Call ``listener(job)`` after every write that may move a job's timeline."""
        self._listeners.append(listener)

    def on_reset(self, listener: Callable[[str | None], None]) -> None:
        """Call ``listener(tenant)`` after a reset (``None``: everything), so a provider can drop
        what it derived from the store (ids are deterministic: a reset reuses them)."""
        self._reset_listeners.append(listener)

    def profile_for(self, tenant: str | None = None) -> str:
        config = self._tenants.get(tenant) if tenant is not None else None
        return (config.profile if config and config.profile else None) or self._profile

    def seed_for(self, tenant: str | None = None) -> int:
        config = self._tenants.get(tenant) if tenant is not None else None
        if config is not None and config.seed is not None:
            return config.seed
        return self._seed

    def set_profile(self, name: str, tenant: str | None = None) -> str:
        """Select a profile server-wide or for one tenant; ``manual`` freezes that clock."""
        name = get_profile(name).name
        if tenant is None:
            self._profile = name
        else:
            self._tenants.setdefault(tenant, TenantConfig()).profile = name
        self._apply_clock_policy(tenant)
        return name

    def set_seed(self, seed: int, tenant: str | None = None) -> int:
        if tenant is None:
            self._seed = seed
        else:
            self._tenants.setdefault(tenant, TenantConfig()).seed = seed
        return seed

    def tenant_config(self, tenant: str) -> TenantConfig:
        return self._tenants.get(tenant, TenantConfig())

    def _apply_clock_policy(self, tenant: str | None) -> None:
        """Freeze the clock a ``frozen_clock`` profile applies to; let it run otherwise.

        In ``virtual`` clock mode every clock stays frozen whatever the profile.
        """
        clock = self.clocks.server if tenant is None else self.clocks.for_tenant(tenant)
        if get_profile(self.profile_for(tenant)).frozen_clock or self.clock_mode == "virtual":
            clock.freeze()
        else:
            clock.unfreeze()

    # --- time and ids -------------------------------------------------------------------------

    def now(self, tenant: str) -> float:
        """The tenant's time: its own clock if it was ever set apart, else the server's (the
        same reading a fresh tenant clock would give)."""
        clock = self.clocks.peek(tenant)
        return (clock or self.clocks.server).now()

    def new_id(self, tenant: str, kind: str = "job") -> str:
        """A deterministic, never-reused UUID for a tenant's next ``kind``."""
        return derive_uuid(self.seed_for(tenant), tenant, kind, self.store.next_seq(tenant, kind))

    def _lock(self, job_id: str) -> threading.RLock:
        return self._locks[zlib.crc32(job_id.encode()) % len(self._locks)]

    # --- jobs ---------------------------------------------------------------------------------

    def submit(
        self,
        tenant: str,
        provider: str,
        *,
        inputs: Sequence[Any] = (),
        attrs: Mapping[str, Any] | None = None,
        open: bool = False,
        profile: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        expires_in: float | None = None,
        job_id: str | None = None,
        hold: bool = False,
        errors: Sequence[str | None] | None = None,
    ) -> Job:
        """Create a job with one item per input, plan its lifecycle and store it.

        ``hold`` keeps every item queued until :meth:`release_held` (a provider whose results
        need the model holds jobs submitted while it is still loading). ``errors`` gives items
        whose failure is known at admission their message (``lifecycle.make_plan``).
        """
        now = self.now(tenant)
        job_id = job_id or self.new_id(tenant)
        plan = lifecycle.make_plan(
            key=job_id,
            seed=self.seed_for(tenant),
            profile=get_profile(profile or self.profile_for(tenant)).name,
            now=now,
            count=len(inputs),
            overrides=overrides,
            open=open,
            expires_at=None if expires_in is None else now + expires_in,
            errors=errors,
        )
        if hold:
            plan = replace(plan, held=True)
        job = Job(
            id=job_id,
            tenant=tenant,
            provider=provider,
            seq=self.store.next_seq(tenant, "seq"),
            created_at=now,
            plan=plan,
            inputs=tuple(inputs),
            attrs=dict(attrs or {}),
        )
        self.store.put_job(job)
        self._changed(job)
        return job

    def get(self, job_id: str, tenant: str | None = None) -> Job | None:
        return self.store.get_job(job_id, tenant)

    def view(self, job: Job) -> JobState:
        """The job's state now, on its tenant's clock."""
        return lifecycle.state(job.plan, self.now(job.tenant))

    def list_jobs(
        self,
        tenant: str | None = None,
        provider: str | None = None,
        *,
        after_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Job]:
        return self.store.list_jobs(
            tenant, provider, after_seq=after_seq, limit=limit, newest_first=newest_first
        )

    def update(self, job: Job, change: Callable[[Job], Job]) -> Job:
        """Apply ``change`` to the freshest copy of ``job`` under its lock, store, reschedule.

        A job deleted meanwhile (a client's delete, a tenant reset racing this call) stays
        deleted: nothing is written and ``job`` comes back as given. Writing the caller's copy
        back would resurrect it.
        """
        with self._lock(job.id):
            current = self.store.get_job(job.id)
            if current is None:
                return job
            updated = change(current)
            if updated is current:
                return current
            self.store.put_job(replace(updated, settled=False))
        self._changed(updated)
        return updated

    def add_items(self, job: Job, inputs: Sequence[Any]) -> Job:
        """Append work to an open container (a stream session)."""

        def change(current: Job) -> Job:
            now = self.now(current.tenant)
            plan = lifecycle.extend_plan(current.plan, count=len(inputs), now=now)
            return replace(current, plan=plan, inputs=current.inputs + tuple(inputs))

        return self.update(job, change)

    def set_attrs(self, job: Job, **attrs: Any) -> Job:
        return self.update(job, lambda current: replace(current, attrs={**current.attrs, **attrs}))

    def cancel(self, job: Job) -> Job:
        """Cancel a job and its children (see :meth:`children`) at its tenant's now."""
        updated = self.update(
            job, lambda c: replace(c, plan=lifecycle.cancel(c.plan, self.now(c.tenant)))
        )
        for child in self.children(updated):
            self.cancel(child)
        return updated

    def step(self, job: Job, to: Literal["next", "terminal"] = "next") -> Job:
        """Move a job on by hand (control API); only its future is rewritten. A container's
        children are stepped with it, so stepping an xAI batch moves its requests."""
        updated = self.update(
            job, lambda c: replace(c, plan=lifecycle.step(c.plan, self.now(c.tenant), to))
        )
        for child in self.children(updated):
            self.step(child, to)
        return updated

    def children(self, job: Job) -> list[Job]:
        """The jobs a container owns: the ids in ``attrs["children"]`` (an xAI batch keeps one
        child per add-requests call, so a call never rewrites what earlier calls stored)."""
        ids = job.attrs.get("children") or ()
        return [child for child_id in ids if (child := self.store.get_job(child_id)) is not None]

    def release_held(self) -> list[Job]:
        """End every hold: each held job's timeline starts now (its tenant's now)."""
        released = []
        for job in self.store.unsettled_jobs():
            if job.plan.held:
                released.append(
                    self.update(
                        job,
                        lambda c: replace(c, plan=lifecycle.release(c.plan, self.now(c.tenant))),
                    )
                )
        return released

    def delete(self, job: Job) -> None:
        with self._lock(job.id):
            self.store.delete_job(job.id)

    # --- results and side effects ---------------------------------------------------------------

    def results(self, job: Job, view: JobState | None = None) -> dict[int, Any]:
        """Every succeeded item's result, computing (and storing) any not yet computed.

        A result is computed outside the job's lock (it may take a model call) and stored
        under it only if the job still exists: a job deleted meanwhile leaves no orphaned
        results behind (the caller still gets what was computed).
        """
        view = view or self.view(job)
        stored = self.store.get_results(job.id)
        hooks = self.providers.get(job.provider)
        for item in view.items:
            if item.status == "succeeded" and item.index not in stored and hooks is not None:
                result = hooks.compute_result(job, item.index)
                with self._lock(job.id):
                    if self.store.get_job(job.id) is None:
                        stored[item.index] = result
                        continue
                    self.store.put_result(job.id, item.index, result)
                stored[item.index] = self.store.get_result(job.id, item.index)
        return stored

    def settle(self, job_id: str) -> float | None:
        """Do a job's due side effects; return when (tenant clock) it next needs a visit.

        Side effects: compute results of items that ended, then, once the job is terminal, put
        its notifications in the outbox in the same write that marks it notified.
        """
        job = self.store.get_job(job_id)
        if job is None:
            return None
        hooks = self.providers.get(job.provider)
        lazy = hooks is not None and hooks.lazy_results
        if not lazy:  # a lazy provider's (xAI's) settle needs no view before the lock's
            self.results(job, self.view(job))
        with self._lock(job.id):
            job = self.store.get_job(job_id)
            if job is None:
                return None
            now = self.now(job.tenant)
            view = lifecycle.state(job.plan, now)
            before = job
            deliveries: list[Delivery] = []
            if view.terminal and not job.notified:
                deliveries = self._deliveries_for(job, view)
                job = replace(job, notified=True)
            due = lifecycle.next_transition(job.plan, now)
            missing = not lazy and self._missing_results(job, view)
            settled = due is None and not job.plan.held and not missing
            job = replace(job, settled=settled)
            if job != before:
                self.store.put_job(job, deliveries)
            return due

    def _missing_results(self, job: Job, view: JobState) -> bool:
        stored = self.store.get_results(job.id)
        return any(i.status == "succeeded" and i.index not in stored for i in view.items)

    def _deliveries_for(self, job: Job, view: JobState) -> list[Delivery]:
        hooks = self.providers.get(job.provider)
        if hooks is None or self.outbox is None:
            return []
        return [
            self.outbox.make(
                tenant=job.tenant,
                job_id=job.id,
                event=n.event,
                url=n.url,
                payload=n.payload,
                body=n.body,
                headers=n.headers,
                signer=n.signer,
            )
            for n in hooks.notifications(job, view)
        ]

    def _changed(self, job: Job) -> None:
        for listener in self._listeners:
            listener(job)

    # --- tenants ------------------------------------------------------------------------------

    def tenants(self) -> list[str]:
        return sorted({*self.store.tenants(), *self._tenants, *self.clocks.tenants()})

    def reset(self, tenant: str | None = None) -> None:
        """Forget all state, or one tenant's: jobs, results, deliveries, clock, overrides.

        A full reset also restores the profile and seed the server was started with, so a test
        suite that resets between tests starts each one from the same configuration.
        """
        self.store.reset(tenant)
        self.clocks.reset(tenant)
        if tenant is None:
            self._tenants.clear()
            self._profile, self._seed = self._initial_profile, self._initial_seed
        else:
            self._tenants.pop(tenant, None)
        self._apply_clock_policy(None)
        for listener in self._reset_listeners:
            listener(tenant)
