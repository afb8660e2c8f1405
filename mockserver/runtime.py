"""The Runtime: every long-lived object of one server, built from Settings, Flask-free.

``create_app`` keeps one on ``app.extensions["mockserver"]``; tests and the benchmark can build
one directly. Building it starts nothing: :meth:`Runtime.start` starts the scheduler threads, and
the server runner calls it inside the worker process (threads do not survive a fork).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .engine.clock import Clock, ClockRegistry
from .engine.conformance import ConformanceLog, Observation
from .engine.core import Engine
from .engine.faults import FaultBook
from .engine.fetch import Resolver
from .engine.journal import Journal
from .engine.scheduler import Scheduler
from .engine.sidecars import SidecarIndex
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
from .inference.service import InferenceService
from .settings import Settings

__all__ = ["SAMPLES_DIR", "Runtime", "Service", "build_resolver", "media_roots"]

#: The sample media bundled with the package: where media URLs resolve by default.
SAMPLES_DIR = Path(__file__).with_name("_samples")

log = logging.getLogger("mockserver")


class Service(Protocol):
    """Something that runs beside the HTTP server for the runtime's lifetime."""

    def start(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class Runtime:
    """Store, clocks, engine, outbox, scheduler and journal of one server."""

    settings: Settings
    store: JobStore
    engine: Engine
    outbox: Outbox
    scheduler: Scheduler
    journal: Journal
    inference: InferenceService
    media: Resolver
    #: Sidecar text of known media by content (uploads carry no name to find a sidecar by).
    sidecars: SidecarIndex
    #: Fault rules, server-wide and per tenant (``engine/faults.py``).
    faults: FaultBook
    #: Each tenant's contract violations and behaviours (``engine/conformance.py``).
    conformance: ConformanceLog
    started_at: float = field(default_factory=time.time)
    running: bool = False
    #: What providers publish for the rest of the server (``"xai.grpc_port"`` for health).
    extensions: dict[str, Any] = field(default_factory=dict)
    #: Extra servers started and stopped with the runtime (xAI's gRPC face).
    services: list[Service] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        settings: Settings | None = None,
        *,
        base_clock: Clock | None = None,
        http_client: HttpClient | None = None,
    ) -> Runtime:
        settings = settings or Settings()
        store = open_store(settings.store, delivery_history=settings.webhook_log_size)
        clocks = ClockRegistry(base_clock, frozen=settings.clock == "virtual")
        engine = Engine(
            store,
            clocks,
            profile=settings.profile,
            seed=settings.seed,
            clock_mode="virtual" if settings.clock == "virtual" else "system",
        )
        faults = FaultBook(engine.seed_for)
        conformance = ConformanceLog(settings.advised_poll_interval)
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
            faults=faults,
            on_probe=conformance.observe_delivery,
            concurrency=settings.webhook_concurrency,
        )
        engine.outbox = outbox
        scheduler = Scheduler(engine, outbox)
        journal = Journal(settings.journal_size)
        inference = InferenceService(
            settings.device,
            max_batch=settings.inference_batch,
            max_wait=settings.inference_wait_ms / 1000,
            threads=settings.inference_threads,
        )
        inference.on_settled(engine.release_held)
        runtime = cls(
            settings,
            store,
            engine,
            outbox,
            scheduler,
            journal,
            inference,
            build_resolver(settings),
            SidecarIndex(media_roots(settings)),
            faults,
            conformance,
        )
        runtime.install_scenario()
        return runtime

    def install_scenario(self) -> None:
        """Install ``--scenario`` server-wide: at start-up, and again after a full reset."""
        if not self.settings.scenario:
            return
        from .scenarios import load_scenario

        scenario = load_scenario(self.settings.scenario)
        now = self.engine.clocks.server.now()
        self.faults.install(scenario.rules, tenant=None, now=now, mode=scenario.mode)

    def start(self) -> None:
        """Reschedule unfinished work from the store and start the background threads."""
        if self.running:
            return
        reloaded = self.scheduler.load()
        if reloaded:
            log.info("rescheduled %d unsettled job(s) from the store", reloaded)
        self.scheduler.start()
        if self.settings.model_load == "background":
            self.inference.start()
        for service in self.services:
            service.start()
        self.running = True

    def close(self) -> None:
        for service in self.services:
            service.close()
        self.scheduler.stop()
        self.inference.close()
        self.store.close()
        self.running = False

    def record_request(
        self,
        entry: dict[str, Any],
        *,
        retry_after: float | None = None,
        body_sha256: str | None = None,
        job_id: str | None = None,
        notes: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """Journal one client request (HTTP or gRPC) and let the conformance log judge it."""
        stored = self.journal.record(entry)
        fault = entry.get("fault") or {}
        self.conformance.observe(
            Observation(
                tenant=entry.get("tenant"),
                provider=entry.get("provider"),
                operation=entry.get("operation"),
                method=str(entry.get("method", "")),
                path=str(entry.get("path", "")),
                status=int(entry.get("status") or 0),
                at=float(stored.get("at") or time.time()),
                violations=entry.get("violations") or (),
                retry_after=retry_after,
                body_sha256=body_sha256,
                fault_kind=fault.get("kind"),
                job_id=job_id,
                notes=notes,
            )
        )

    def reset(self, tenant: str | None = None) -> None:
        """Forget state (all, or one tenant's) everywhere it lives."""
        self.scheduler.forget(tenant)
        self.engine.reset(tenant)
        self.journal.clear(tenant)
        self.faults.reset(tenant)
        self.conformance.reset(None if tenant is None else [tenant])
        if tenant is None:
            self.install_scenario()


def media_roots(settings: Settings) -> list[Path]:
    """Where local media lives: ``--media-dir``, else the bundled samples."""
    return [Path(settings.media_dir) if settings.media_dir else SAMPLES_DIR]


def build_resolver(settings: Settings) -> Resolver:
    """The media URL resolver: the URL map, then the media directory, then (if on) a fetch.

    A map file is JSON ``{"https://host/a.wav": "relative/or/absolute/path.wav"}``; relative
    paths are taken from the map file's folder. A bad file fails start-up with its reason.
    """
    url_map: dict[str, Path] = {}
    if settings.media_map:
        path = Path(settings.media_map)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"media_map {path}: cannot read a JSON object: {exc}") from None
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise ValueError(f"media_map {path}: expected a JSON object of URL -> file path")
        url_map = {str(k): path.parent / v for k, v in raw.items()}
    root = Path(settings.media_dir) if settings.media_dir else SAMPLES_DIR
    allow = HostAllowList(settings.media_allow) if settings.media_allow else None
    return Resolver(root, url_map, fetch=settings.media_fetch == "on", allow=allow)
