"""The Runtime: every long-lived object of one server, built from Settings, Flask-free.

``create_app`` keeps one on ``app.extensions["mockserver"]``; tests and the benchmark can build
one directly. Building it starts nothing: :meth:`Runtime.start` starts the scheduler threads, and
the server runner calls it inside the worker process (threads do not survive a fork).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from .engine.clock import Clock, ClockRegistry
from .engine.core import Engine
from .engine.journal import Journal
from .engine.scheduler import Scheduler
from .engine.store import JobStore, open_store
from .engine.webhooks import (
    HostAllowList,
    HttpClient,
    NoSigner,
    Outbox,
    RetryPolicy,
    StandardWebhooksSigner,
    UrllibClient,
)
from .settings import Settings

__all__ = ["Runtime"]

log = logging.getLogger("mockserver")


@dataclass
class Runtime:
    """Store, clocks, engine, outbox, scheduler and journal of one server."""

    settings: Settings
    store: JobStore
    engine: Engine
    outbox: Outbox
    scheduler: Scheduler
    journal: Journal
    started_at: float = field(default_factory=time.time)
    running: bool = False

    @classmethod
    def build(
        cls,
        settings: Settings | None = None,
        *,
        base_clock: Clock | None = None,
        http_client: HttpClient | None = None,
    ) -> Runtime:
        settings = settings or Settings()
        store = open_store(settings.store)
        clocks = ClockRegistry(base_clock, frozen=settings.clock == "virtual")
        engine = Engine(
            store,
            clocks,
            profile=settings.profile,
            seed=settings.seed,
            clock_mode="virtual" if settings.clock == "virtual" else "system",
        )
        outbox = Outbox(
            store,
            clocks.for_tenant,
            http_client or UrllibClient(),
            signers={
                "standard": StandardWebhooksSigner(settings.webhook_secret),
                "none": NoSigner(),
            },
            allow=HostAllowList(settings.webhook_allow),
            policy=RetryPolicy(
                max_attempts=settings.webhook_max_attempts,
                base=settings.webhook_backoff,
                cap=settings.webhook_backoff_cap,
                timeout=settings.webhook_timeout,
            ),
            new_id=lambda tenant: engine.new_id(tenant, "delivery"),
        )
        engine.outbox = outbox
        scheduler = Scheduler(engine, outbox)
        journal = Journal(settings.journal_size)
        return cls(settings, store, engine, outbox, scheduler, journal)

    def start(self) -> None:
        """Reschedule unfinished work from the store and start the background threads."""
        if self.running:
            return
        reloaded = self.scheduler.load()
        if reloaded:
            log.info("rescheduled %d unsettled job(s) from the store", reloaded)
        self.scheduler.start()
        self.running = True

    def close(self) -> None:
        self.scheduler.stop()
        self.store.close()
        self.running = False

    def reset(self, tenant: str | None = None) -> None:
        """Forget state (all, or one tenant's) everywhere it lives."""
        self.scheduler.forget(tenant)
        self.engine.reset(tenant)
        self.journal.clear(tenant)
