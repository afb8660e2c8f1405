"""The dashboard at ``/_mock/ui`` (``mockserver/control/ui.py``, ``mockserver/_ui/``).

Without a browser: the page and its assets are served with their types and a same-origin
Content-Security-Policy, nothing shipped names an outside URL, the admin token guards the data
(not the page), and the fingerprint the page polls is small, stable while nothing happens and
moves with every kind of change, time passing included.

In a real browser (headless Chromium from Debian's packages, driven by Playwright; skipped with
the reason when either is missing): a Hume job and an xAI batch submitted through the vendor
APIs wait on a frozen clock, the page's "Advance clock" control moves it, both complete on the
page and the Hume callback appears in the webhook log. Then a richer run (Hugging Face
zero-shot, Eden AI speech to text with a failing receiver, a contract violation, a fault
scenario loaded from the page) is photographed: ``$MOCKSERVER_ARTIFACTS`` (else pytest's temp
dir) receives the screenshots; ``MOCKSERVER_UPDATE_SCREENSHOTS=1`` also refreshes the README's
copies in ``docs/screenshots/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from mockserver.app import create_app
from mockserver.contracts import load_contract
from mockserver.control import ui
from mockserver.settings import Settings
from mockserver.testing.server import LiveServer
from tests.conftest import FakeTime, RecordingClient
from tests.contract_check import validate_response
from tests.receiver import Receiver, Reply, serving

ROOT = Path(__file__).resolve().parents[1]
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("MOCKSERVER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "ui-admin-token"
#: The only absolute URL a shipped file may hold: SVG's XML namespace, an identifier that is
#: never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg"}


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def make(**settings: Any) -> Flask:
        options = {"grpc": "off", "model_load": "lazy", **settings}
        app = create_app(
            Settings().replace(**options), base_clock=FakeTime(), http_client=RecordingClient()
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["mockserver"].close()


# --- served files ------------------------------------------------------------------------------


def checked(client: FlaskClient, path: str, status: int = 200, **kwargs: Any) -> Any:
    """GET ``path`` and hold the answer to ``contracts/control.yaml``."""
    response = client.get(path, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json() if response.is_json else response.get_data(as_text=True)
    validate_response(load_contract("control"), "GET", path, status, response.mimetype, body)
    return response


def test_the_page_and_its_assets_are_served(make_app: Callable[..., Flask]) -> None:
    client = make_app().test_client()
    page = checked(client, "/_mock/ui")
    assert page.content_type == "text/html; charset=utf-8"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    referenced = re.findall(r'(?:src|href)="ui/assets/([^"]+)"', html)
    assert sorted(referenced) == ["app.css", "app.js", "favicon.svg"]
    types = {"app.css": "text/css", "app.js": "text/javascript", "favicon.svg": "image/svg+xml"}
    for name in referenced:
        asset = checked(client, f"/_mock/ui/assets/{name}")
        assert asset.mimetype == types[name]
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
        assert asset.data == (ui.ASSETS_DIR / name).read_bytes()
    for control in ("advance-button", "step-button", "reset-button", "scenario-button"):
        assert f'id="{control}"' in html


@pytest.mark.parametrize(
    "name", ["nope.js", "APP.JS", "app", "index.html", ".hidden.js", "app.js.map", "..%2Fapp.js"]
)
def test_anything_else_under_assets_is_a_json_404(
    make_app: Callable[..., Flask], name: str
) -> None:
    response = make_app().test_client().get(f"/_mock/ui/assets/{name}")
    assert response.status_code == 404
    assert response.is_json and response.get_json()["error"]["code"] in (
        "asset_not_found",
        "not_found",
    )


def test_nothing_shipped_reaches_outside_the_server() -> None:
    """No CDN, font service or analytics: every URL the page uses is relative to the server."""
    files = sorted(p for p in ui.UI_DIR.rglob("*") if p.is_file())
    assert {p.relative_to(ui.UI_DIR).as_posix() for p in files} >= {
        "index.html",
        "assets/app.js",
        "assets/app.css",
        "assets/favicon.svg",
    }
    for path in files:
        text = path.read_text(encoding="utf-8")
        urls = set(re.findall(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'`<>)]*", text))
        assert urls <= NAMESPACES, (path.name, urls - NAMESPACES)
        assert not re.search(r"""(?:src|href|action)\s*=\s*["']?//""", text), path.name
        assert not re.search(r"@import|url\(\s*['\"]?(?!#)", text), path.name
        assert "<script>" not in text and " style=" not in text, path.name  # CSP: none inline
    script = (ui.ASSETS_DIR / "app.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script and "eval(" not in script  # data goes in as text only


def test_the_admin_token_guards_the_data_not_the_page(make_app: Callable[..., Flask]) -> None:
    client = make_app(admin_token=TOKEN).test_client()
    page = client.get("/_mock/ui", query_string={"token": "<script>alert(1)</script>"})
    assert page.status_code == 200
    assert b"alert(1)" not in page.data  # the page never echoes its query string
    assert client.get("/_mock/ui/assets/app.js").status_code == 200
    refused = checked(client, "/_mock/ui/changes", 401)
    assert refused.get_json()["error"]["code"] == "unauthorized"
    for headers in ({"Authorization": f"Bearer {TOKEN}"}, {"X-Mock-Admin-Token": TOKEN}):
        assert checked(client, "/_mock/ui/changes", headers=headers).status_code == 200
    assert (
        client.get("/_mock/ui/changes", headers={"Authorization": "Bearer no"}).status_code == 401
    )


# --- the fingerprint ---------------------------------------------------------------------------


def test_the_fingerprint_is_small_and_still_while_nothing_happens(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(profile="manual").test_client()
    client.post("/_mock/jobs", json={"tenant": "t", "items": 3})
    first = checked(client, "/_mock/ui/changes")
    assert len(first.data) <= 32, first.data  # {"version":"<16 hex>"}\n
    assert first.headers["Cache-Control"] == "no-store"
    assert {checked(client, "/_mock/ui/changes").get_json()["version"] for _ in range(3)} == {
        first.get_json()["version"]
    }


def test_the_fingerprint_moves_with_every_kind_of_change(make_app: Callable[..., Flask]) -> None:
    app = make_app(profile="manual")
    client = app.test_client()
    runtime = app.extensions["mockserver"]
    seen: list[str] = []

    def moved(why: str) -> None:
        version = client.get("/_mock/ui/changes").get_json()["version"]
        assert version not in seen, f"the fingerprint did not move: {why}"
        seen.append(version)

    moved("start")
    job = client.post(
        "/_mock/jobs", json={"tenant": "t", "items": 2, "callback_url": "http://127.0.0.1:9/h"}
    ).get_json()
    moved("a job submitted")
    client.post("/_mock/clock/advance", json={"seconds": 1})
    moved("the clock advanced (items started)")
    client.post(f"/_mock/jobs/{job['id']}/step", json={"to": "terminal"})
    moved("a job stepped to its end (a webhook queued)")
    runtime.scheduler.run_due()
    moved("a webhook attempted")
    client.get("/v0/batch/jobs", headers={"X-Hume-Api-Key": "k"})
    moved("a client request journalled")
    client.put("/_mock/profile", json={"profile": "fast", "tenant": "t"})
    moved("a tenant profile set")
    client.put("/_mock/seed", json={"seed": 5})
    moved("the seed set")
    client.post("/_mock/faults", json={"scenario": "rate-limited", "tenant": "k"})
    moved("a scenario loaded")
    client.get("/v0/batch/jobs", headers={"X-Hume-Api-Key": "k"})
    moved("a fault rule fired")
    client.post("/_mock/clock/set", json={"frozen": False})
    moved("the clock unfrozen")
    client.post("/_mock/reset")
    moved("a reset")


def test_time_alone_moves_the_fingerprint(make_app: Callable[..., Flask]) -> None:
    """A state is a function of the clock: with no request at all, the fingerprint moves when
    a running clock passes an item's start or end, and only then."""
    base = FakeTime()
    app = create_app(
        Settings().replace(grpc="off", model_load="lazy", profile="fast"), base_clock=base
    )
    try:
        client = app.test_client()
        overrides = {"queue_wait": 5, "run_time": 5}
        client.post("/_mock/jobs", json={"tenant": "t", "items": 1, "overrides": overrides})

        def version() -> str:
            found: str = client.get("/_mock/ui/changes").get_json()["version"]
            return found

        queued = version()
        base.t += 4
        assert version() == queued
        base.t += 2  # started
        running = version()
        assert running != queued
        base.t += 3
        assert version() == running
        base.t += 3  # ended
        assert version() not in (queued, running)
    finally:
        app.extensions["mockserver"].close()


# --- in a real browser -------------------------------------------------------------------------

HUME_KEY = "hume-dashboard-key"
XAI_KEY = "xai-dashboard-key"
XAI = {"Authorization": f"Bearer {XAI_KEY}"}


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "browser tests need Playwright: pip install playwright (it drives the system "
            "Chromium; never run `playwright install`)"
        )
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(
            f"browser tests need Chromium at {CHROMIUM}: apt-get install chromium, or point "
            "MOCKSERVER_CHROMIUM at a Chromium binary"
        )
    return sync_playwright


@pytest.fixture(scope="module")
def playwright_api() -> Any:
    """Playwright's sync API, or a skip naming what is missing."""
    return _playwright()


@pytest.fixture(scope="module")
def browser(playwright_api: Any) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, shared by the module's browser tests."""
    sync_playwright = playwright_api
    profile = tempfile.mkdtemp(prefix="mockserver-ui-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1440, "height": 1000},
                offline=False,
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def receivers() -> Iterator[Callable[..., Receiver]]:
    runner = serving()
    yield next(runner)
    next(runner, None)


@pytest.fixture(scope="module")
def live(playwright_api: Any) -> Iterator[LiveServer]:
    """The emulator on a free 127.0.0.1 port, every clock frozen (the ``manual`` profile):
    nothing moves until the page advances the clock. The model loads in the background."""
    settings = Settings().replace(
        profile="manual",
        grpc="off",
        model_load="background",
        log_level="warning",
        webhook_backoff=0.5,
        validation="strict",
    )
    with LiveServer(settings) as server:
        yield server


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Any, str], Path]:
    """Save a screenshot as a test artifact (and, when asked, as the README's copy)."""
    where = os.environ.get("MOCKSERVER_ARTIFACTS")
    folder = Path(where) / "ui" if where else tmp_path_factory.mktemp("ui-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    update = os.environ.get("MOCKSERVER_UPDATE_SCREENSHOTS") == "1"

    def save(page: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        toast = "(display) => { document.getElementById('toast').style.display = display; }"
        page.evaluate(toast, "none")  # a transient message, not part of the view
        page.screenshot(path=str(path), full_page=True)
        page.evaluate(toast, "")
        if update:  # 256 colours: a third of the bytes, no visible change for a UI
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            image = Image.open(path).convert("RGB")
            flat = image.quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
            flat.save(DOCS_SCREENSHOTS / path.name, optimize=True)
        return path

    return save


#: Text whose contrast with its background is under WCAG 2 AA (4.5:1, 3:1 for large text);
#: disabled controls are exempt.
LOW_CONTRAST_JS = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (node) => {
    for (let e = node; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const bad = [];
  for (const node of document.querySelectorAll("body *")) {
    if (node.closest("svg, option, button:disabled, [hidden], dialog:not([open])")) continue;
    if (!node.getClientRects().length) continue;
    const own = [...node.childNodes].filter((n) => n.nodeType === 3);
    const text = own.map((n) => n.textContent).join("").trim();
    if (!text) continue;
    const style = getComputedStyle(node);
    const a = lum(parse(style.color)), b = lum(background(node));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), bold = Number(style.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) bad.push(`${node.tagName} "${text.slice(0, 30)}": ${ratio.toFixed(2)}`);
  }
  return bad;
}"""


def low_contrast(page: Any) -> list[str]:
    found: list[str] = page.evaluate(LOW_CONTRAST_JS)
    return found


def wait_for_model(live: LiveServer, held: str | None = None, timeout: float = 90.0) -> None:
    """Hume jobs are held (queued) until the inference model has loaded: wait for the model,
    and for job ``held`` to be released (just after the model reports ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = requests.get(f"{live.url}/_mock/health", timeout=5).json()
        assert health["inference"]["state"] != "failed", health["inference"]
        if health["inference"]["state"] == "ready":
            if held is None:
                return
            job = requests.get(f"{live.url}/_mock/jobs/{held}", timeout=5).json()
            if not job["plan"]["held"]:
                return
        time.sleep(0.2)
    raise AssertionError("the inference model did not load")


def row(page: Any, job_id: str) -> Any:
    return page.locator(f'#jobs-body tr[data-job="{job_id}"]')


POLLS_JS = """performance.getEntriesByType("resource")
    .filter((e) => e.name.endsWith("/_mock/ui/changes"))
    .map((e) => [e.transferSize, e.encodedBodySize])"""


def changes_polls(page: Any) -> list[tuple[int, int]]:
    """(bytes on the wire with headers, body bytes) of each poll the page made so far."""
    found: list[tuple[int, int]] = page.evaluate(f"() => {POLLS_JS}")
    return found


def add_requests(url: str, batch_id: str, questions: list[str], headers: dict[str, str]) -> None:
    items = [
        {
            "batch_request_id": f"q{n}",
            "batch_request": {
                "chat_get_completion": {
                    "model": "grok-3-mini",
                    "messages": [{"role": "user", "content": question}],
                }
            },
        }
        for n, question in enumerate(questions)
    ]
    added = requests.post(
        f"{url}/v1/batches/{batch_id}/requests",
        json={"batch_requests": items},
        headers=headers,
        timeout=10,
    )
    assert added.status_code == 200, added.text


def test_a_hume_job_and_an_xai_batch_complete_when_the_page_advances_the_clock(
    live: LiveServer, browser: Any, receivers: Callable[..., Receiver], shots: Any
) -> None:
    from playwright.sync_api import expect

    hook = receivers()
    page = browser.new_page()
    page.goto(f"{live.url}/_mock/ui")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"), timeout=10_000)
    expect(page.locator("#clock-state")).to_have_text("frozen")

    started = requests.post(
        f"{live.url}/v0/batch/jobs",
        json={
            "text": ["I am so happy and grateful for your help!", "This is a disaster."],
            "models": {"language": {}},
            "callback_url": hook.url,
        },
        headers={"X-Hume-Api-Key": HUME_KEY},
        timeout=10,
    )
    assert started.status_code == 200, started.text
    hume_id = started.json()["job_id"]
    batch = requests.post(
        f"{live.url}/v1/batches", json={"name": "dashboard"}, headers=XAI, timeout=10
    )
    assert batch.status_code == 200, batch.text
    batch_id = batch.json()["batch_id"]
    add_requests(live.url, batch_id, ["What is the capital of France?", "Say hello."], XAI)

    # Both show on the page, waiting for the frozen clock.
    expect(row(page, hume_id)).to_have_attribute("data-status", "queued")
    expect(row(page, batch_id)).to_have_attribute("data-status", "queued")
    expect(row(page, batch_id)).to_contain_text("0/2 done")
    wait_for_model(live, held=hume_id)
    waiting = requests.get(f"{live.url}/v1/batches/{batch_id}", headers=XAI, timeout=5).json()
    assert waiting["state"]["num_pending"] == 2  # nothing moves on a frozen clock

    # The page moves the virtual clock; both complete without a reload.
    page.fill("#advance-seconds", "5")
    page.click("#advance-button")
    expect(page.locator("#toast")).to_contain_text("Clock advanced by 5.00 s")
    expect(row(page, hume_id)).to_have_attribute("data-status", "completed", timeout=20_000)
    expect(row(page, batch_id)).to_have_attribute("data-status", "completed")
    expect(row(page, batch_id)).to_contain_text("2/2 done")

    # The Hume callback reaches the receiver and shows in the delivery log.
    deliveries = page.locator('[data-testid="webhooks-table"] tr[data-delivery]')
    expect(deliveries.filter(has_text=hume_id[:15])).to_have_attribute(
        "data-status", "delivered", timeout=15_000
    )
    assert any(json.loads(body)["job_id"] == hume_id for _, _, body in hook.requests)

    # The job's own view: timeline, predictions for people, its webhook.
    row(page, hume_id).click()
    expect(page.locator("#job-title")).to_have_attribute("data-status", "completed")
    expect(page.locator('#timeline [data-testid="timeline-chart"] g.item')).to_have_count(2)
    expect(page.locator("#timeline line.now-line")).to_have_count(0)  # ended: its own span
    expect(page.locator("#predictions .bar-row").first).to_be_visible()
    expect(page.locator('#job-deliveries tr[data-status="delivered"]')).to_have_count(1)
    assert low_contrast(page) == []
    shots(page, "dashboard-hume-job")

    row(page, batch_id).click()
    expect(page.locator("#job-title")).to_have_attribute("data-status", "completed")
    expect(page.locator("#predictions .answer")).to_have_count(2)
    page.close()


def test_the_main_views_in_the_browser(
    live: LiveServer, browser: Any, receivers: Callable[..., Receiver], shots: Any
) -> None:
    """A richer run, each view checked and photographed: a batch mid-flight, label bars, a
    two-speaker transcript, webhook retries, a contract violation, a scenario from the page."""
    from playwright.sync_api import expect

    flaky = receivers(Reply(status=503), Reply(status=503))  # two failures, then 200
    page = browser.new_page()
    page.goto(f"{live.url}/_mock/ui")
    wait_for_model(live)

    # An xAI batch with varied phases (a per-request lifecycle), caught mid-flight.
    lifecycle = {"queue_wait": [0, 2], "run_time": [0.5, 3]}
    varied = {**XAI, "X-Mock-Lifecycle": json.dumps(lifecycle)}
    batch_id = requests.post(
        f"{live.url}/v1/batches", json={"name": "mid-flight"}, headers=varied, timeout=10
    ).json()["batch_id"]
    questions = [f"Question {n}: what is {n} plus {n}?" for n in range(8)]
    add_requests(live.url, batch_id, questions, varied)
    zero_shot = requests.post(
        f"{live.url}/bulk/run/cpu/facebook/bart-large-mnli",
        json={
            "dataset_name": "mockserver/reviews",
            "dataset_config": "plain_text",
            "parameters": {"candidate_labels": ["positive", "negative"]},
        },
        headers={"Authorization": "Bearer hf_dashboard"},
        timeout=10,
    ).json()["jobid"]
    speech = requests.post(
        f"{live.url}/v2/audio/speech_to_text_async/",
        json={
            "providers": "amazon,deepgram",
            "file_url": "https://example.com/two_voices.wav",
            "language": "en",
            "speakers": 2,
            "webhook_receiver": flaky.url,
        },
        headers={"Authorization": "Bearer eden-dashboard-key"},
        timeout=10,
    ).json()["public_id"]
    wrong = requests.post(  # a contract violation: refused, recorded, reported
        f"{live.url}/v0/batch/jobs",
        json={"models": {"face": {"fps_pred": -1}}, "urls": ["https://example.com/face.png"]},
        headers={"X-Hume-Api-Key": "careless-client"},
        timeout=10,
    )
    assert wrong.status_code == 400

    expect(row(page, zero_shot)).to_be_visible(timeout=10_000)
    page.click("[data-advance='1']")
    page.click("[data-advance='1']")
    expect(page.locator("#toast")).to_contain_text("Clock advanced")
    row(page, batch_id).click()
    expect(page.locator("#job-title")).to_have_attribute("data-status", "running")
    expect(page.locator("#timeline g.item")).to_have_count(8)
    expect(page.locator("#timeline rect.bar-planned").first).to_be_attached()
    shots(page, "dashboard-timeline")

    # Step from the page: the batch runs to its end now.
    page.click("#finish-button")
    expect(page.locator("#job-title")).to_have_attribute("data-status", "completed")
    expect(page.locator("#predictions .answer").first).to_contain_text("plus")

    page.click("[data-advance='60']")
    row(page, zero_shot).click()
    expect(page.locator("#job-title")).to_have_attribute("data-status", "completed")
    expect(page.locator('#predictions .bar-row[data-label="positive"]').first).to_be_visible()
    shots(page, "dashboard-zero-shot")

    row(page, speech).click()
    expect(page.locator("#job-title")).to_have_attribute("data-status", "completed")
    expect(page.locator("#predictions .speaker").first).to_be_visible()
    page.fill("#job-search", "eden")
    expect(page.locator("#jobs-body tr")).to_have_count(1)
    shots(page, "dashboard-transcript")
    page.fill("#job-search", "")

    # Webhook retries: two 503s, then delivered, each attempt listed.
    page.click("#tab-webhooks")
    retried = page.locator('[data-testid="webhooks-table"] tr[data-delivery]').filter(
        has_text=speech[:15]
    )
    attempts = retried.locator("td").nth(5)
    expect(attempts).not_to_have_text("0", timeout=15_000)  # tried once: a 503
    while retried.get_attribute("data-status") != "delivered":
        assert int(attempts.inner_text()) < 3, "the third attempt should have been delivered"
        tried = attempts.inner_text()
        page.click("[data-advance='10']")  # retries wait for the tenant's (frozen) clock
        expect(attempts).not_to_have_text(tried, timeout=10_000)
    expect(attempts).to_have_text("3")  # two 503s, then a 200
    retried.click()
    expect(page.locator("ol.attempts li")).to_have_count(3)
    expect(page.locator("ol.attempts")).to_contain_text("HTTP 503")
    shots(page, "dashboard-webhooks")

    # The journal and the contract report show what the careless client got wrong.
    page.click("#tab-journal")
    page.check("#journal-problems")
    violation = page.locator('[data-testid="journal-table"] tr[data-entry]').filter(
        has_text=re.compile("violation")
    )
    violation.first.click()
    expect(page.locator("ul.violations")).to_contain_text("fps_pred")
    shots(page, "dashboard-journal")
    page.click("#tab-report")
    careless = page.locator('.report-tenant[data-tenant="careless-client"]')
    expect(careless).to_contain_text("fps_pred")
    expect(careless.locator(".badge.bad").first).to_be_visible()
    assert low_contrast(page) == []
    shots(page, "dashboard-report")

    # A scenario loaded from the page, for one tenant.
    page.click("#tab-tenants")
    page.click(f'[data-scope-tenant="{XAI_KEY}"]')
    expect(page.locator("#clock-scope")).to_have_text(f"({XAI_KEY})")
    page.select_option("#scenario-select", "rate-limited")
    page.click("#scenario-button")
    expect(page.locator("#toast")).to_contain_text("Scenario rate-limited loaded")
    throttled = requests.get(f"{live.url}/v1/batches", headers=XAI, timeout=5)
    assert throttled.status_code == 429
    page.click("#tab-faults")
    rule = page.locator('[data-testid="faults-table"] tr[data-rule]').first
    expect(rule.locator("td").nth(5)).to_have_text("1")  # fired once
    expect(page.locator("#faults-now")).not_to_have_text("none")
    shots(page, "dashboard-faults")
    page.select_option("#profile-select", "fast")  # that tenant's profile, from the page
    expect(page.locator("#profile-now")).to_have_text("fast")

    # Reset from the page (that tenant only), after confirming.
    page.click("#reset-button")
    page.click("#confirm-ok")
    expect(page.locator("#toast")).to_contain_text(f"Tenant {XAI_KEY} reset")
    expect(page.locator("#faults-now")).to_have_text("none")
    expect(page.locator("#profile-now")).to_have_text("manual")  # the server's again
    page.close()


def test_the_page_takes_the_admin_token_and_pauses_while_hidden(browser: Any, shots: Any) -> None:
    settings = Settings().replace(
        grpc="off", model_load="lazy", log_level="warning", admin_token=TOKEN
    )
    with LiveServer(settings) as server:
        requests.post(
            f"{server.url}/_mock/jobs",
            json={"tenant": "guarded", "items": 2},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        page = browser.new_page()
        page.goto(f"{server.url}/_mock/ui?token={TOKEN}")
        from playwright.sync_api import expect

        expect(page.locator("#jobs-body tr")).to_have_count(1)
        assert "token" not in page.url  # taken out of the address bar and the history
        page.wait_for_function(f"() => ({POLLS_JS}).length >= 2", timeout=10_000)
        polls = changes_polls(page)
        # Idle: a 31-byte body, about 330 bytes with the response headers.
        assert max(body for _, body in polls) <= 32, polls
        assert max(size for size, _ in polls) <= 400, polls

        # Hidden tab: no poll at all; visible again: polling resumes at once.
        page.evaluate(
            """() => {
              Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
              document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
        expect(page.locator("#live")).to_have_class(re.compile(r"\bpaused\b"))
        before = len(changes_polls(page))
        page.wait_for_timeout(2000)  # polls come every 1.5 s while visible
        assert len(changes_polls(page)) == before
        page.evaluate(
            """() => {
              Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
              document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
        expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
        expect(page.locator("#clock-state")).to_have_text("running")  # the system clock
        page.click("#freeze-button")
        expect(page.locator("#clock-state")).to_have_text("frozen")
        expect(page.locator("#freeze-button")).to_have_text("Unfreeze")
        page.close()

        # Without the token, the page asks for it.
        fresh = browser.new_page()  # a new tab: its own (empty) session storage
        fresh.goto(f"{server.url}/_mock/ui")
        expect(fresh.locator("#token-dialog")).to_be_visible()
        fresh.fill("#token-input", TOKEN)
        fresh.click("#token-dialog button[value=ok]")
        expect(fresh.locator("#jobs-body tr")).to_have_count(1)
        fresh.close()
