"""One inference service per process: lazy model load, dynamic batching, device choice.

Request threads never run a model. Text work goes to one batcher thread, which takes the first
waiting item, gathers every queued item with the same head and parameters for at most
``max_wait`` seconds (or until ``max_batch``), sorts them by length and runs them as one batch;
audio and image work goes to a separate single-thread executor so a long clip never holds up a
batch of short texts. Callers get :class:`concurrent.futures.Future` objects.

torch is imported only when the model loads (``start`` does it in the background), so start-up
stays fast; anything submitted before the model is ready simply waits in the queue.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from .text import TextModel

__all__ = ["InferenceService", "InferenceUnavailable", "TextTask", "resolve_device"]

log = logging.getLogger("mockserver.inference")
T = TypeVar("T")
Head = Literal["emotions", "sentiment", "toxicity", "zero_shot", "classify", "valence"]
State = Literal["idle", "loading", "ready", "failed"]


class InferenceUnavailable(RuntimeError):
    """The model could not be loaded (for example ``--device cuda`` without a GPU)."""


@dataclass(frozen=True)
class TextTask:
    """One text through one head; items with equal :attr:`key` can share a batch."""

    head: Head
    text: str
    seed: int = 0
    labels: tuple[str, ...] = ()
    multi_label: bool = False
    template: str | None = None

    @property
    def key(self) -> tuple[object, ...]:
        return (self.head, self.seed, self.labels, self.multi_label, self.template)


@dataclass
class _Pending:
    task: TextTask | None
    future: Future[Any]
    call: Callable[[TextModel], Any] | None = None
    queued_at: float = field(default_factory=time.monotonic)


def resolve_device(choice: str) -> Any:
    """``auto`` means CUDA when torch sees a GPU, else CPU; ``cuda`` without one is an error."""
    import torch

    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise InferenceUnavailable(
            "device 'cuda' was requested but torch sees no CUDA device "
            f"(torch {torch.__version__}); use --device auto or cpu"
        )
    return torch.device(choice)


class InferenceService:
    """The shared models and the threads that run them."""

    def __init__(
        self,
        device: str = "auto",
        *,
        max_batch: int = 64,
        max_wait: float = 0.002,
        threads: int | None = 1,
    ) -> None:
        self.requested_device = device
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.threads = threads
        self.state: State = "idle"
        self.error: str | None = None
        self.device: Any = None
        self.load_seconds: float | None = None
        self.batches = 0
        self.items = 0
        self._model: TextModel | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._held: list[_Pending] = []
        self._thread: threading.Thread | None = None
        self._media: ThreadPoolExecutor | None = None
        self._listeners: list[Callable[[], object]] = []

    # --- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Begin loading in the background (idempotent); returns at once."""
        with self._lock:
            if self._thread is not None:
                return
            self.state = "loading"
            self._media = ThreadPoolExecutor(1, thread_name_prefix="mockserver-media")
            self._thread = threading.Thread(
                target=self._run, name="mockserver-inference", daemon=True
            )
            self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until loaded (starting the load if needed); raise if loading failed."""
        self.start()
        self._ready.wait(timeout)
        if self.state == "failed":
            raise InferenceUnavailable(self.error or "model failed to load")
        return self.state == "ready"

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def on_settled(self, listener: Callable[[], object]) -> None:
        """Call ``listener`` once loading has ended, ready or failed (now, if it already has).

        The runtime releases jobs held while the model loaded; on failure they are released
        too, so their results fail visibly instead of the jobs waiting forever.
        """
        with self._lock:
            settled = self.state in ("ready", "failed")
            if not settled:
                self._listeners.append(listener)
        if settled:
            listener()

    def _notify(self) -> None:
        with self._lock:
            listeners, self._listeners = self._listeners, []
        for listener in listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001 - one bad listener must not stop the others
                log.exception("inference listener failed")

    def close(self) -> None:
        """Stop the threads; queued work fails with :class:`InferenceUnavailable`."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)
        if self._media is not None:
            self._media.shutdown(wait=True, cancel_futures=True)
            self._media = None
        self._fail_pending(InferenceUnavailable("inference service closed"))

    def describe(self) -> dict[str, Any]:
        """State for the health endpoint and logs."""
        return {
            "state": self.state,
            "device": str(self.device) if self.device is not None else None,
            "requested_device": self.requested_device,
            "error": self.error,
            "load_seconds": self.load_seconds,
            "batches": self.batches,
            "items": self.items,
        }

    def _load(self) -> None:
        started = time.perf_counter()
        import torch

        from .text import TextModel

        if self.threads:
            torch.set_num_threads(self.threads)
        self.device = resolve_device(self.requested_device)
        self._model = TextModel.load(self.device)
        self._model.emotions(["warm up"])  # builds the label prototypes once
        self.load_seconds = time.perf_counter() - started

    # --- submitting work -----------------------------------------------------------------------

    def submit(self, task: TextTask) -> Future[list[float]]:
        """Queue one text for its head; the future holds that text's scores."""
        fut: Future[list[float]] = Future()
        self._enqueue(_Pending(task, fut))
        return fut

    def call(self, fn: Callable[[TextModel], T]) -> Future[T]:
        """Run ``fn(text_model)`` on the batcher thread (NER and other unbatched text work)."""
        fut: Future[T] = Future()
        self._enqueue(_Pending(None, fut, call=fn))
        return fut

    def _enqueue(self, pending: _Pending) -> None:
        """Queue work; once loading has failed, fail it (and anything that raced in) at once."""
        self.start()
        self._queue.put(pending)
        if self.state == "failed":
            self._fail_pending(InferenceUnavailable(self.error or "model failed to load"))

    def media(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Run an audio/vision analysis on the media thread, on the service's device."""
        self.start()
        assert self._media is not None
        return self._media.submit(self._after_ready, fn, *args, **kwargs)

    def _after_ready(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.wait_ready()
        return fn(*args, device=self.device, **kwargs)

    def run(self, head: Head, texts: Sequence[str], **params: Any) -> list[list[float]]:
        """Submit ``texts`` to ``head`` and wait: the blocking form for non-request threads."""
        labels = tuple(params.pop("labels", ()))
        futs = [self.submit(TextTask(head, t, labels=labels, **params)) for t in texts]
        return [f.result() for f in futs]

    # --- the batcher thread --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._load()
        except Exception as exc:  # noqa: BLE001 - any load failure is reported, not raised
            self.error = f"{type(exc).__name__}: {exc}"
            self.state = "failed"
            log.error("inference model failed to load: %s", self.error)
            self._fail_pending(InferenceUnavailable(self.error))
            self._notify()
            self._ready.set()
            return
        self.state = "ready"
        log.info("inference ready on %s in %.2fs", self.device, self.load_seconds)
        # Listeners (the release of jobs held for the model) run before waiters wake, so a
        # caller of wait_ready() finds held jobs already released.
        self._notify()
        self._ready.set()
        while self._next_batch():
            pass

    def _next_batch(self) -> bool:
        first = self._held.pop(0) if self._held else self._queue.get()
        if first is None:
            return False
        if first.task is None:
            self._execute_call(first)
            return True
        batch = [first]
        deadline = time.monotonic() + self.max_wait
        keep_going = self._gather(batch, deadline)
        self._execute(batch)
        return keep_going

    def _gather(self, batch: list[_Pending], deadline: float) -> bool:
        key = batch[0].task.key if batch[0].task else None
        held = [p for p in self._held if p.task is not None and p.task.key == key]
        for p in held[: self.max_batch - 1]:
            self._held.remove(p)
            batch.append(p)
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return True
            if item is None:
                self._queue.put(None)
                return True
            if item.task is not None and item.task.key == key:
                batch.append(item)
            else:
                self._held.append(item)
        return True

    def _execute_call(self, pending: _Pending) -> None:
        assert pending.call is not None and self._model is not None
        try:
            pending.future.set_result(pending.call(self._model))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            pending.future.set_exception(exc)

    def _execute(self, batch: list[_Pending]) -> None:
        assert self._model is not None
        batch.sort(key=lambda p: len(p.task.text) if p.task else 0)
        task = batch[0].task
        assert task is not None
        texts = [p.task.text for p in batch if p.task is not None]
        try:
            rows = _run_head(self._model, task, texts).tolist()
        except Exception as exc:  # noqa: BLE001 - every waiting caller learns of it
            for p in batch:
                p.future.set_exception(exc)
            return
        self.batches += 1
        self.items += len(batch)
        for p, row in zip(batch, rows, strict=True):
            p.future.set_result(row if isinstance(row, list) else [row])

    def _fail_pending(self, exc: Exception) -> None:
        pending = list(self._held)
        self._held.clear()
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                pending.append(item)
        for p in pending:
            if not p.future.done():
                p.future.set_exception(exc)


def _run_head(model: TextModel, task: TextTask, texts: list[str]) -> Any:
    if task.head == "emotions":
        return model.emotions(texts, task.labels or _default_emotions(), seed=task.seed)
    if task.head == "sentiment":
        return model.sentiment(texts, seed=task.seed)
    if task.head == "toxicity":
        return model.toxicity(texts, seed=task.seed)
    if task.head == "valence":
        return model.valence(texts)
    if task.head == "classify":
        return model.classify(texts, task.labels)
    if task.template is not None:
        return model.zero_shot(
            texts, task.labels, multi_label=task.multi_label, hypothesis_template=task.template
        )
    return model.zero_shot(texts, task.labels, multi_label=task.multi_label)


def _default_emotions() -> tuple[str, ...]:
    from .labels import LANGUAGE_EMOTIONS

    return LANGUAGE_EMOTIONS
