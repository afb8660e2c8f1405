/* mockserver dashboard. Plain browser JavaScript: no framework, no build step, no external URL.
 *
 * Reads and drives the control API (`/_mock/...`, contract `contracts/control.yaml`). Live
 * updates: `GET /_mock/ui/changes` every POLL_MS while the tab is visible, a ~30-byte
 * fingerprint; the rest of the API is read again only when it changes. Every value from the
 * server goes into the page as text (textContent, attributes), never as markup.
 */
(() => {
  "use strict";

  const POLL_MS = 1500;
  const MAX_BACKOFF_MS = 15000;
  const JOBS_LIMIT = 200;
  const MAX_ROWS = 48; // timeline rows drawn
  const MAX_PARTS = 20; // container parts read (an xAI batch's add calls)
  const MAX_CARDS = 12; // prediction cards shown
  const MAX_SEGMENTS = 6; // segments shown per prediction group
  const SVG_NS = "http://www.w3.org/2000/svg";
  const BASE = new URL(".", window.location.href); // .../_mock/
  const TOKEN_KEY = "mockserver.adminToken";
  const TERMINAL = new Set(["completed", "failed", "cancelled"]); // job states
  const ITEM_DONE = new Set(["succeeded", "failed", "cancelled"]); // item states
  const PARTS = new Set(["xai.requests", "hf.stream.items"]);
  // Containers hold no items of their own: their parts (attrs.children) do.
  const CONTAINERS = new Set(["xai", "hf.stream"]);
  const MAX_CONTAINERS = 30;
  const PROVIDERS = {
    hume: "Hume",
    xai: "xAI batch",
    "xai.requests": "xAI requests",
    "xai.file": "xAI file",
    "hf.bulk": "Hugging Face bulk",
    "hf.stream": "Hugging Face stream",
    "hf.stream.items": "HF stream items",
    edenai: "Eden AI",
    "edenai.batch": "Eden AI batch",
    mock: "Synthetic",
  };
  const HUME_MODELS = {
    language: "Language",
    face: "Face",
    prosody: "Speech prosody",
    burst: "Vocal burst",
    ner: "Named entities",
    facemesh: "Face mesh",
  };

  const $ = (id) => document.getElementById(id);

  // --- state ----------------------------------------------------------------------------------

  const S = {
    version: null,
    stale: true,
    health: null,
    jobs: [],
    tenants: [],
    faults: { plans: [], scenarios: [] },
    profiles: [],
    scope: "",
    clock: null,
    clockReadAt: 0,
    serverFrozen: false,
    profile: null,
    seed: null,
    children: {},
    selected: null,
    detail: null,
    parts: [],
    results: {},
    resultsKey: null,
    tab: "webhooks",
    onlyProblems: false,
    expanded: new Set(),
    updatedAt: null,
  };

  // --- admin token ----------------------------------------------------------------------------

  let token = "";
  try {
    token = window.sessionStorage.getItem(TOKEN_KEY) || "";
  } catch (_) {
    token = "";
  }
  (function takeTokenFromUrl() {
    const url = new URL(window.location.href);
    if (!url.searchParams.has("token")) return;
    setToken(url.searchParams.get("token") || "");
    url.searchParams.delete("token"); // out of the address bar and the history
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  })();

  function setToken(value) {
    token = value;
    try {
      window.sessionStorage.setItem(TOKEN_KEY, value);
    } catch (_) {
      /* storage off: the token lives as long as the page */
    }
  }

  let asking = false;
  function askToken() {
    const dialog = $("token-dialog");
    if (asking || dialog.open) return;
    asking = true;
    setLive("off", "Admin token needed");
    dialog.showModal();
  }

  // --- the control API ------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, options = {}) {
    const url = new URL(path, BASE);
    for (const [key, value] of Object.entries(options.query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method: options.method || "GET", headers, cache: "no-store" };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(url, init);
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) {
      const message = data && data.error ? data.error.message : `${response.status} ${response.statusText}`;
      if (response.status === 401) askToken();
      throw new ApiError(response.status, message);
    }
    return data;
  }

  const enc = encodeURIComponent;
  const scoped = () => (S.scope ? { tenant: S.scope } : {});

  // --- DOM helpers ----------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.setAttribute("class", value);
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }

  const badge = (text, kind) => el("span", { class: `badge ${kind || text}` }, text);

  // --- formatting -----------------------------------------------------------------------------

  function isoTime(seconds, withDate) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
    const iso = new Date(seconds * 1000).toISOString(); // 2027-01-15T08:00:03.250Z
    return withDate ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : iso.slice(11, 23);
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
    const s = Math.max(0, seconds);
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
    return `${(s / 86400).toFixed(1)} d`;
  }

  const shortId = (id) => (id.length > 18 ? `${id.slice(0, 15)}…` : id);
  const providerLabel = (name) => PROVIDERS[name] || name;
  const score = (value) => (typeof value === "number" ? value.toFixed(2) : "—");

  function clip(text, limit) {
    const value = String(text);
    return value.length > limit ? `${value.slice(0, limit)}…` : value;
  }

  function pretty(value, limit = 3000) {
    let text;
    try {
      text = typeof value === "string" ? JSON.stringify(JSON.parse(value), null, 2) : JSON.stringify(value, null, 2);
    } catch (_) {
      text = String(value);
    }
    return clip(text, limit);
  }

  // --- live status and messages ---------------------------------------------------------------

  function setLive(kind, text) {
    const live = $("live");
    live.className = `live ${kind}`;
    $("live-text").textContent = text;
  }

  let toastTimer = 0;
  function toast(message, isError) {
    const node = $("toast");
    node.textContent = message;
    node.className = isError ? "toast error" : "toast";
    node.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(() => {
      node.hidden = true;
    }, isError ? 7000 : 3500);
  }

  async function act(label, call) {
    try {
      const result = await call();
      if (label) toast(typeof label === "function" ? label(result) : label);
    } catch (error) {
      toast(`${error.message}`, true);
    }
    kick(); // read everything again now
  }

  // --- polling --------------------------------------------------------------------------------

  let timer = 0;
  let polling = false;
  let kicked = false;
  let failures = 0;

  function schedule(ms) {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, ms);
  }

  /** Poll now, and read everything again even if the fingerprint has not moved. */
  function kick() {
    S.stale = true;
    if (polling) kicked = true;
    else schedule(0);
  }

  async function poll() {
    timer = 0;
    if (document.hidden) {
      setLive("paused", "Paused (tab hidden)");
      return; // visibilitychange starts it again
    }
    if (polling) return;
    polling = true;
    kicked = false;
    try {
      const { version } = await api("ui/changes");
      if (version !== S.version || S.stale) {
        S.stale = false;
        await refresh();
        S.version = version;
      }
      failures = 0;
      S.updatedAt = new Date();
      setLive("on", `Live · updated ${S.updatedAt.toLocaleTimeString()}`);
    } catch (error) {
      failures += 1;
      if (error.status !== 401) setLive("off", failures > 1 ? "Server unreachable, retrying" : "Reconnecting…");
    } finally {
      polling = false;
    }
    if (document.hidden) {
      setLive("paused", "Paused (tab hidden)"); // hidden while this poll ran: no next one
    } else if (!asking) {
      schedule(kicked ? 0 : failures ? Math.min(MAX_BACKOFF_MS, POLL_MS * 2 ** failures) : POLL_MS);
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      window.clearTimeout(timer);
      setLive("paused", "Paused (tab hidden)");
    } else if (!polling) {
      schedule(0); // the fingerprint tells whether anything changed meanwhile
    }
  });

  // --- reading everything ---------------------------------------------------------------------

  async function refresh() {
    const scope = scoped();
    const [health, tenants, jobs, clock, profile, seed, faults] = await Promise.all([
      api("health"),
      api("tenants"),
      api("jobs", { query: { limit: JOBS_LIMIT } }),
      api("clock", { query: scope }),
      api("profile", { query: scope }),
      api("seed", { query: scope }),
      api("faults"),
    ]);
    S.health = health;
    S.tenants = tenants.tenants;
    S.jobs = jobs.jobs;
    S.clock = clock;
    S.clockReadAt = performance.now();
    S.serverFrozen = health.clock.frozen;
    S.profile = profile.profile;
    S.profiles = profile.profiles;
    S.seed = seed.seed;
    S.faults = faults;
    const containers = S.jobs.filter((j) => CONTAINERS.has(j.provider)).slice(0, MAX_CONTAINERS);
    const found = await Promise.all(containers.map((j) => api(`jobs/${enc(j.id)}`).catch(() => null)));
    S.children = Object.fromEntries(found.filter(Boolean).map((d) => [d.id, Array.isArray(d.attrs.children) ? d.attrs.children : []]));
    renderHeader();
    renderToolbar();
    renderJobs();
    await loadDetail();
    await loadTab();
  }

  // --- header and toolbar ---------------------------------------------------------------------

  function clockNow() {
    if (!S.clock) return null;
    const moving = !S.clock.frozen && !S.serverFrozen;
    return moving ? S.clock.now + (performance.now() - S.clockReadAt) / 1000 : S.clock.now;
  }

  function renderClock() {
    const now = clockNow();
    if (now !== null) $("clock-now").textContent = isoTime(now, true);
  }

  function renderHeader() {
    const health = S.health;
    $("server-version").textContent = health ? `v${health.version}` : "";
    renderClock();
    const moving = S.clock && !S.clock.frozen && !S.serverFrozen;
    const state = $("clock-state");
    state.textContent = moving ? "running" : "frozen";
    state.className = `badge ${moving ? "moving" : "frozen"}`;
    $("clock-scope").textContent = S.scope ? `(${S.scope})` : "(server)";
    $("profile-now").textContent = S.profile || "—";
    $("seed-now").textContent = S.seed === null ? "—" : String(S.seed);
    const inference = health && health.inference ? health.inference : {};
    $("model-now").textContent = inference.state ? `${inference.state}${inference.device ? ` · ${inference.device}` : ""}` : "—";
    const rules = S.faults.plans.reduce((n, plan) => n + plan.rules.length, 0);
    $("faults-now").textContent = rules ? `${rules} active` : "none";
    $("count-faults").textContent = rules ? String(rules) : "";
    $("count-tenants").textContent = S.tenants.length ? String(S.tenants.length) : "";
  }

  function fillSelect(select, options, value) {
    const wanted = options.map((o) => `${o.value}\u0000${o.label}`).join("\u0001");
    if (select.dataset.options !== wanted) {
      select.replaceChildren(...options.map((o) => el("option", { value: o.value }, o.label)));
      select.dataset.options = wanted;
    }
    if (value !== undefined && document.activeElement !== select) select.value = value;
  }

  function renderToolbar() {
    const tenants = S.tenants.map((t) => t.tenant);
    if (S.scope && !tenants.includes(S.scope)) tenants.unshift(S.scope);
    fillSelect(
      $("scope-select"),
      [{ value: "", label: "Server (all tenants)" }, ...tenants.map((t) => ({ value: t, label: `Tenant ${t}` }))],
      S.scope,
    );
    fillSelect($("profile-select"), S.profiles.map((p) => ({ value: p, label: p })), S.profile);
    fillSelect($("scenario-select"), (S.faults.scenarios || []).map((s) => ({ value: s, label: s })));
    $("freeze-button").textContent = S.clock && S.clock.frozen ? "Unfreeze" : "Freeze";
  }

  // --- containers -----------------------------------------------------------------------------

  const COUNT_KEYS = ["total", "queued", "running", "succeeded", "failed", "cancelled"];

  /** A container's status and counts, from its parts (an xAI batch has no status of its own:
   * it is done when no request is pending). A cancelled or failed container stays so. */
  function aggregate(container, parts) {
    if (!parts.length) return { status: container.status, counts: container.counts };
    const counts = Object.fromEntries(COUNT_KEYS.map((k) => [k, parts.reduce((n, p) => n + (p.counts[k] || 0), 0)]));
    let status;
    if (container.status === "cancelled" || container.status === "failed") status = container.status;
    else if (counts.queued + counts.running === 0) status = "completed";
    else if (counts.queued === counts.total) status = "queued";
    else status = "running";
    const starts = parts.map((p) => p.started_at).filter((t) => t !== null);
    const ends = parts.map((p) => p.ended_at).filter((t) => t !== null);
    return {
      status,
      counts,
      started_at: starts.length ? Math.min(...starts) : null,
      ended_at: status === "completed" && ends.length ? Math.max(...ends) : container.ended_at,
    };
  }

  function effective(job) {
    if (!CONTAINERS.has(job.provider)) return job;
    const byId = new Map(S.jobs.map((j) => [j.id, j]));
    const parts = (S.children[job.id] || []).map((id) => byId.get(id)).filter(Boolean);
    return { ...job, ...aggregate(job, parts) };
  }

  // --- jobs list ------------------------------------------------------------------------------

  function jobMatches(job) {
    const query = $("job-search").value.trim().toLowerCase();
    const provider = $("provider-filter").value;
    const tenant = $("tenant-filter").value;
    const status = $("status-filter").value;
    if (!$("parts-filter").checked && PARTS.has(job.provider)) return false;
    if (provider && job.provider !== provider) return false;
    if (tenant && job.tenant !== tenant) return false;
    if (status && job.status !== status) return false;
    if (!query) return true;
    const haystack = `${job.id} ${job.tenant} ${job.provider} ${providerLabel(job.provider)} ${job.status}`.toLowerCase();
    return query.split(/\s+/).every((word) => haystack.includes(word));
  }

  function progress(counts) {
    const bar = el("div", { class: "progress", "aria-hidden": "true" });
    const total = counts.total || 0;
    for (const kind of ["succeeded", "failed", "cancelled", "running"]) {
      if (!counts[kind] || !total) continue;
      const part = el("span", { class: kind });
      part.style.width = `${(100 * counts[kind]) / total}%`;
      bar.append(part);
    }
    return bar;
  }

  function countsText(counts) {
    const done = counts.succeeded + counts.failed + counts.cancelled;
    const extra = [];
    if (counts.failed) extra.push(`${counts.failed} failed`);
    if (counts.cancelled) extra.push(`${counts.cancelled} cancelled`);
    if (counts.running) extra.push(`${counts.running} running`);
    return `${done}/${counts.total} done${extra.length ? ` · ${extra.join(", ")}` : ""}`;
  }

  function renderJobs() {
    const providers = [...new Set(S.jobs.map((j) => j.provider))].sort();
    const tenants = [...new Set(S.jobs.map((j) => j.tenant))].sort();
    fillSelect($("provider-filter"), [{ value: "", label: "All providers" }, ...providers.map((p) => ({ value: p, label: providerLabel(p) }))]);
    fillSelect($("tenant-filter"), [{ value: "", label: "All tenants" }, ...tenants.map((t) => ({ value: t, label: t }))]);

    const shown = S.jobs.map(effective).filter(jobMatches);
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.job : null;
    const rows = shown.map((job) => {
      const row = el(
        "tr",
        {
          class: `row${PARTS.has(job.provider) ? " child" : ""}`,
          tabindex: "0",
          "aria-selected": job.id === S.selected ? "true" : "false",
          "data-job": job.id,
          "data-status": job.status,
          "data-provider": job.provider,
        },
        el("td", null, badge(job.status)),
        el("td", { class: "job-cell" }, el("strong", null, providerLabel(job.provider)), el("span", { class: "id", title: job.id }, shortId(job.id))),
        el("td", { class: "mono", title: job.tenant }, clip(job.tenant, 22)),
        el("td", null, el("div", { class: "items-text" }, countsText(job.counts)), progress(job.counts)),
        el("td", { class: "nowrap mono", title: isoTime(job.created_at, true) }, isoTime(job.created_at).slice(0, 8)),
      );
      return row;
    });
    $("jobs-body").replaceChildren(...rows);
    $("jobs-empty").hidden = S.jobs.length > 0;
    const total = S.jobs.length;
    $("jobs-count").textContent = shown.length === total ? String(total) : `${shown.length} of ${total}`;
    if (focused) {
      const again = $("jobs-body").querySelector(`tr[data-job="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  function selectJob(id) {
    if (!id) return;
    S.selected = id;
    S.resultsKey = null;
    S.results = {};
    window.history.replaceState(null, "", `#job=${enc(id)}`);
    for (const row of $("jobs-body").querySelectorAll("tr.row")) {
      row.setAttribute("aria-selected", row.dataset.job === id ? "true" : "false");
    }
    loadDetail().catch((error) => toast(error.message, true));
  }

  // --- job detail -----------------------------------------------------------------------------

  const ended = (job) => job.counts.succeeded + job.counts.failed > 0;

  async function loadDetail() {
    if (!S.selected) {
      $("job-none").hidden = false;
      $("job-detail").hidden = true;
      return;
    }
    let detail;
    try {
      detail = await api(`jobs/${enc(S.selected)}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      S.selected = null;
      S.detail = null;
      $("job-none").hidden = false;
      $("job-detail").hidden = true;
      return;
    }
    const children = Array.isArray(detail.attrs.children) ? detail.attrs.children.slice(0, MAX_PARTS) : [];
    const parts = (await Promise.all(children.map((id) => api(`jobs/${enc(id)}`).catch(() => null)))).filter(Boolean);
    const key = JSON.stringify([detail.id, detail.status, detail.counts, parts.map((p) => [p.id, p.status, p.counts])]);
    if (key !== S.resultsKey) {
      const sources = parts.length ? parts : [detail];
      const read = await Promise.all(
        sources.map((job) => (ended(job) ? api(`jobs/${enc(job.id)}/results`).catch(() => ({ results: {} })) : { results: {} })),
      );
      S.results = Object.fromEntries(sources.map((job, n) => [job.id, read[n].results || {}]));
      S.resultsKey = key;
    }
    if (S.selected !== detail.id) return; // another job was picked meanwhile
    S.detail = detail;
    S.parts = parts;
    renderDetail();
  }

  function renderDetail() {
    const job = { ...S.detail, ...(S.parts.length ? aggregate(S.detail, S.parts) : {}) };
    $("job-none").hidden = true;
    $("job-detail").hidden = false;
    const title = $("job-title");
    title.replaceChildren(`${providerLabel(job.provider)} `, el("span", { class: "id", title: job.id }, shortId(job.id)), " ", badge(job.status));
    title.dataset.status = job.status;
    const terminal = TERMINAL.has(job.status);
    $("step-button").disabled = terminal;
    $("finish-button").disabled = terminal;
    $("cancel-button").disabled = terminal;

    const facts = [
      ["Job id", el("span", { class: "id" }, job.id)],
      ["Tenant", el("span", { class: "mono" }, job.tenant)],
      ["Profile", job.profile + (job.plan.overrides && Object.keys(job.plan.overrides).length ? ` · overrides ${JSON.stringify(job.plan.overrides)}` : "")],
      ["Created", isoTime(job.created_at, true)],
      ["Started", job.started_at === null ? "not yet" : `${isoTime(job.started_at)} (after ${duration(job.started_at - job.created_at)} queued)`],
      ["Ended", job.ended_at === null ? "not yet" : `${isoTime(job.ended_at)} (ran ${duration(job.ended_at - (job.started_at ?? job.created_at))})`],
      ["Items", countsText(job.counts)],
    ];
    if (job.error) facts.push(["Error", el("span", { class: "error-text" }, job.error)]);
    for (const [label, value] of attrFacts(job)) facts.push([label, value]);
    $("job-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", null, k), el("dd", null, v)]));

    drawTimeline($("timeline"), timelineRows(job, S.parts), job.now);
    renderPredictions($("predictions"), job, S.parts, S.results);
    renderJobDeliveries($("job-deliveries"), job);
  }

  function attrFacts(job) {
    const attrs = job.attrs || {};
    const out = [];
    const request = attrs.request;
    if (request) {
      const models = Object.keys(request.models || {});
      if (models.length) out.push(["Models", models.map((m) => HUME_MODELS[m] || m).join(", ")]);
      if (request.callback_url) out.push(["Callback", el("span", { class: "path" }, request.callback_url)]);
    }
    if (attrs.name) out.push(["Name", attrs.name]);
    if (attrs.model) out.push(["Model", el("span", { class: "mono" }, attrs.model)]);
    if (attrs.dataset && attrs.dataset.name) out.push(["Dataset", `${attrs.dataset.name} (${attrs.dataset.config || "default"}/${attrs.dataset.split || "train"})`]);
    if (attrs.subfeature) out.push(["Feature", el("span", { class: "mono" }, attrs.subfeature)]);
    if (attrs.params && Array.isArray(attrs.params.providers)) out.push(["Providers", attrs.params.providers.join(", ")]);
    if (attrs.params && attrs.params.webhook_receiver) out.push(["Webhook", el("span", { class: "path" }, attrs.params.webhook_receiver)]);
    if (attrs.callback_url) out.push(["Callback", el("span", { class: "path" }, attrs.callback_url)]);
    if (Array.isArray(attrs.children)) out.push(["Parts", `${attrs.children.length} add call${attrs.children.length === 1 ? "" : "s"}`]);
    return out;
  }

  // --- the timeline chart ---------------------------------------------------------------------

  function timelineRows(job, parts) {
    const sources = parts.length ? parts : [job];
    const rows = [];
    sources.forEach((source, p) => {
      source.plan.items.forEach((item, n) => {
        const state = source.timeline[n] || {};
        rows.push({
          label: parts.length ? `${p + 1}·${n}` : `#${n}`,
          submitted: source.plan.submitted_at,
          planStart: item.start,
          planEnd: item.end,
          status: state.status || "queued",
          startedAt: state.started_at ?? null,
          endedAt: state.ended_at ?? null,
          error: state.error || item.error,
        });
      });
    });
    return rows;
  }

  function niceStep(span, count) {
    const raw = span / count;
    const power = 10 ** Math.floor(Math.log10(raw));
    const unit = [1, 2, 5, 10].find((m) => m * power >= raw) || 10;
    return unit * power;
  }

  function axisLabel(t, step) {
    if (t === 0) return "0";
    if (step < 1 && t < 1) return `+${Math.round(t * 1000)} ms`;
    if (step < 60) return `+${Number(t.toFixed(step < 1 ? 2 : 1))} s`;
    if (step < 3600) return `+${Number((t / 60).toFixed(1))} min`;
    return `+${Number((t / 3600).toFixed(1))} h`;
  }

  function drawTimeline(root, rows, now) {
    root.replaceChildren();
    if (!rows.length) {
      root.append(el("p", { class: "note" }, "No items yet."));
      return;
    }
    const shown = rows.slice(0, MAX_ROWS);
    const finite = (v) => v !== null && v !== undefined && Number.isFinite(v);
    const t0 = Math.min(...shown.map((r) => r.submitted));
    const settled = shown.every((r) => ITEM_DONE.has(r.status));
    const ends = shown.flatMap((r) => (settled ? [r.endedAt] : [r.planEnd, r.endedAt]).filter(finite));
    let t1 = Math.max(settled ? -Infinity : now, ...ends); // a finished job: its own span
    if (!Number.isFinite(t1)) t1 = now;
    if (!(t1 - t0 > 1e-6)) t1 = t0 + 1;
    const span = t1 - t0;
    const width = 640;
    const left = 54;
    const right = 30;
    const top = 20;
    const rowHeight = 16;
    const height = top + shown.length * rowHeight + 6;
    const x = (t) => left + ((Math.min(Math.max(t, t0), t1) - t0) / span) * (width - left - right);

    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-label": `Timeline of ${rows.length} item${rows.length === 1 ? "" : "s"}: queue and run phases from submission`,
      "data-testid": "timeline-chart",
    });
    const axis = svg("g", { class: "axis" });
    const step = niceStep(span, 6);
    for (let t = 0; t <= span + 1e-9; t += step) {
      const px = x(t0 + t);
      axis.append(svg("line", { class: "grid-line", x1: px, x2: px, y1: top - 4, y2: height - 4 }));
      axis.append(svg("text", { x: px, y: 11, "text-anchor": "middle" }, axisLabel(t, step)));
    }
    chart.append(axis);

    shown.forEach((row, n) => {
      const y = top + n * rowHeight;
      const group = svg("g", { class: "item", "data-status": row.status });
      group.append(svg("text", { class: "label", x: left - 6, y: y + 10, "text-anchor": "end" }, row.label));
      const queueEnd = row.startedAt ?? (row.status === "queued" ? now : row.endedAt ?? now);
      const bar = (from, to, cls, h) => {
        const x1 = x(from);
        const w = Math.max(2, x(to) - x1);
        return svg("rect", { class: cls, x: x1, y: y + (12 - h) / 2 + 1, width: w, height: h, rx: 2 });
      };
      group.append(bar(row.submitted, queueEnd, "bar-queue", 6));
      if (row.startedAt !== null) {
        const runEnd = row.endedAt ?? now;
        group.append(bar(row.startedAt, runEnd, `bar-${row.status === "running" ? "running" : row.status}`, 12));
      } else if (row.status === "cancelled") {
        group.append(bar(queueEnd, queueEnd, "bar-cancelled", 12));
      }
      if (!ITEM_DONE.has(row.status) && finite(row.planEnd) && row.planEnd > now) {
        const from = Math.max(now, finite(row.planStart) ? row.planStart : now);
        group.append(bar(from, row.planEnd, "bar-planned", 11));
      }
      const queued = (row.startedAt ?? row.endedAt ?? now) - row.submitted;
      const ran = row.startedAt === null ? null : (row.endedAt ?? now) - row.startedAt;
      const tip = [`item ${row.label}: ${row.status}`, `queued ${duration(queued)}`];
      if (ran !== null) tip.push(`ran ${duration(ran)}`);
      if (!ITEM_DONE.has(row.status) && finite(row.planEnd)) tip.push(`planned end +${duration(row.planEnd - t0)}`);
      if (!ITEM_DONE.has(row.status) && !finite(row.planEnd)) tip.push("stuck: no planned end");
      if (row.error) tip.push(`error: ${row.error}`);
      group.append(svg("title", null, tip.join("; ")));
      chart.append(group);
    });

    if (now >= t0 && now <= t1) {
      const px = x(now);
      chart.append(svg("line", { class: "now-line", x1: px, x2: px, y1: top - 6, y2: height - 2 }));
    }
    root.append(chart);
    if (rows.length > shown.length) root.append(el("p", { class: "note" }, `Showing the first ${shown.length} of ${rows.length} items.`));
  }

  // --- predictions, for people ----------------------------------------------------------------

  function bars(pairs, highlightTop) {
    const best = Math.max(...pairs.map((p) => p[1]));
    return el(
      "div",
      { class: "emotions" },
      pairs.map(([name, value]) => {
        const fill = el("div", { class: "fill" });
        fill.style.width = `${Math.max(0, Math.min(1, value)) * 100}%`;
        return el(
          "div",
          { class: `bar-row${highlightTop && value === best ? " top" : ""}`, "data-label": name },
          el("span", null, name),
          el("div", { class: "track", role: "presentation" }, fill),
          el("span", { class: "score" }, score(value)),
        );
      }),
    );
  }

  const topEmotions = (emotions, k = 3) =>
    [...(emotions || [])].sort((a, b) => b.score - a.score).slice(0, k).map((e) => [e.name, e.score]);

  function card(title, subtitle, ...body) {
    return el("div", { class: "card" }, el("div", { class: "card-head" }, el("strong", null, title), subtitle ? el("span", { class: "muted" }, subtitle) : null), ...body);
  }

  function renderPredictions(root, job, parts, results) {
    root.replaceChildren();
    const sources = parts.length ? parts : [job];
    const cards = [];
    let total = 0;
    sources.forEach((source, p) => {
      const found = results[source.id] || {};
      for (const [index, value] of Object.entries(found)) {
        total += 1;
        if (cards.length < MAX_CARDS) cards.push(resultCard(job, source, Number(index), value, parts.length ? p + 1 : null));
      }
      source.timeline.forEach((item) => {
        if (item.status !== "failed" || found[item.index] !== undefined) return;
        total += 1;
        if (cards.length < MAX_CARDS) {
          const where = parts.length ? `part ${p + 1}, item ${item.index}` : `item ${item.index}`;
          cards.push(card(`Failed ${where}`, null, el("p", { class: "error-text" }, item.error || "failed")));
        }
      });
    });
    if (!cards.length) {
      const waiting = !TERMINAL.has(job.status);
      root.append(el("p", { class: "empty" }, waiting ? "No results yet: the items are queued or running. Advance the clock or step the job." : "This job has no readable results."));
      return;
    }
    root.append(...cards);
    if (total > cards.length) root.append(el("p", { class: "more" }, `Showing ${cards.length} of ${total} results.`));
  }

  function resultCard(job, source, index, value, part) {
    const where = part ? `Part ${part} · item ${index}` : `Item ${index}`;
    try {
      switch (source.provider) {
        case "hume":
          return humeCard(where, value);
        case "xai.requests":
          return xaiCard(where, value);
        case "hf.bulk":
        case "hf.stream.items":
          return hfCard(where, value);
        case "edenai":
          return edenCard(job, index, value);
        default:
          return card(where, source.provider, el("pre", { class: "json" }, pretty(value)));
      }
    } catch (_) {
      return card(where, "raw result", el("pre", { class: "json" }, pretty(value)));
    }
  }

  function humeSegmentLabel(model, p) {
    const time = p.time && typeof p.time.begin === "number" ? `${p.time.begin.toFixed(2)}–${p.time.end.toFixed(2)} s` : null;
    if (model === "face") {
      const box = p.box ? ` · box ${Math.round(p.box.w)}×${Math.round(p.box.h)}` : "";
      return [`Frame ${p.frame ?? 0}`, `${typeof p.time === "number" ? `${p.time.toFixed(2)} s` : ""}${box}`];
    }
    if (model === "burst") return ["Burst", time];
    if (model === "ner") return [p.entity || p.name || p.text || "entity", p.type || null];
    return [p.text ? `“${clip(p.text, 80)}”` : "Segment", time];
  }

  function humeCard(where, value) {
    const wire = value && value.wire ? value.wire : value;
    const source = wire.source || {};
    const origin = source.url || source.filename || source.type || "source";
    const body = [];
    if (wire.error) body.push(el("p", { class: "error-text" }, wire.error));
    const results = wire.results || {};
    for (const prediction of results.predictions || []) {
      for (const [model, data] of Object.entries(prediction.models || {})) {
        if (!data || !Array.isArray(data.grouped_predictions)) continue;
        for (const group of data.grouped_predictions) {
          const segments = group.predictions || [];
          const grid = el("div", { class: "segments" });
          for (const p of segments.slice(0, MAX_SEGMENTS)) {
            const [label, sub] = humeSegmentLabel(model, p);
            grid.append(el("div", { class: "segment-label" }, label, sub ? el("span", { class: "muted" }, sub) : null));
            grid.append(p.emotions ? bars(topEmotions(p.emotions), true) : el("span", { class: "muted" }, "no emotion scores"));
          }
          const who = group.id && group.id !== "unknown" ? ` · ${group.id}` : "";
          body.push(
            el("h4", { "data-model": model }, `${HUME_MODELS[model] || model}${who} · ${prediction.file || ""} · top 3 emotions per ${model === "face" ? "face" : "segment"}`),
            grid,
          );
          if (segments.length > MAX_SEGMENTS) body.push(el("p", { class: "more" }, `… ${segments.length - MAX_SEGMENTS} more segments`));
        }
      }
    }
    for (const error of results.errors || []) body.push(el("p", { class: "error-text" }, `${error.file || "file"}: ${error.message}`));
    if (!body.length) body.push(el("p", { class: "muted" }, "No predictions for this source."));
    return card(where, `Hume · ${clip(origin, 60)}`, ...body);
  }

  function xaiCard(where, value) {
    if (value && value.error) return card(where, "xAI", el("p", { class: "error-text" }, typeof value.error === "string" ? value.error : pretty(value.error)));
    const choice = value && Array.isArray(value.choices) ? value.choices[0] : null;
    if (choice && choice.message) {
      const usage = value.usage ? `${value.usage.prompt_tokens} prompt + ${value.usage.completion_tokens} completion tokens` : "";
      return card(where, `xAI · ${value.model || "chat"} · ${choice.finish_reason || ""}`, el("p", { class: "answer" }, clip(choice.message.content || "", 1200)), usage ? el("p", { class: "more" }, usage) : null);
    }
    if (value && Array.isArray(value.data)) {
      return card(where, "xAI · media", el("ul", null, value.data.map((d) => el("li", { class: "path" }, d.url || (d.b64_json ? "inline image (b64_json)" : pretty(d, 200))))));
    }
    return card(where, "xAI", el("pre", { class: "json" }, pretty(value)));
  }

  function labelPairs(value) {
    if (value && Array.isArray(value.labels) && Array.isArray(value.scores)) return value.labels.map((l, n) => [l, value.scores[n]]);
    let list = value;
    if (Array.isArray(list) && list.length === 1 && Array.isArray(list[0])) list = list[0];
    if (Array.isArray(list) && list.length && list.every((x) => x && typeof x.label === "string" && typeof x.score === "number")) return list.map((x) => [x.label, x.score]);
    return null;
  }

  function hfCard(where, value) {
    const outputs = value && value.outputs !== undefined ? value.outputs : value;
    const pairs = labelPairs(outputs);
    if (pairs) {
      const sorted = [...pairs].sort((a, b) => b[1] - a[1]).slice(0, 8);
      const text = outputs.sequence || (value && typeof value.inputs === "string" ? value.inputs : null);
      return card(where, "Hugging Face · labels", text ? el("p", { class: "answer" }, `“${clip(text, 300)}”`) : null, bars(sorted, true));
    }
    if (outputs && typeof outputs.text === "string") return card(where, "Hugging Face · transcript", el("p", { class: "transcript" }, outputs.text || "(silence)"));
    if (outputs && outputs.error) return card(where, "Hugging Face", el("p", { class: "error-text" }, pretty(outputs.error, 400)));
    if (Array.isArray(outputs) && outputs.length && outputs.every((x) => x && (x.entity_group || x.entity))) {
      return card(where, "Hugging Face · entities", el("ul", null, outputs.map((x) => el("li", null, `${x.word} — ${x.entity_group || x.entity} (${score(x.score)})`))));
    }
    if (Array.isArray(outputs) && outputs.length && outputs.every((x) => typeof x === "number")) {
      return card(where, "Hugging Face · vector", el("p", { class: "muted" }, `A vector of ${outputs.length} numbers`));
    }
    return card(where, "Hugging Face", el("pre", { class: "json" }, pretty(value)));
  }

  function transcript(fields) {
    const entries = fields.diarization && Array.isArray(fields.diarization.entries) ? fields.diarization.entries : [];
    const speakers = new Set(entries.map((e) => e.speaker));
    if (speakers.size < 2) return el("p", { class: "transcript" }, fields.text || "(no speech)");
    const lines = [];
    let current = null;
    for (const entry of entries) {
      if (!current || current.speaker !== entry.speaker) {
        current = { speaker: entry.speaker, words: [] };
        lines.push(current);
      }
      current.words.push(entry.segment);
    }
    return el("div", null, lines.map((line) => el("p", { class: "transcript" }, el("span", { class: `speaker s${line.speaker}` }, `Speaker ${line.speaker}`), line.words.join(" "))));
  }

  function edenCard(job, index, value) {
    const providers = job.attrs.params && Array.isArray(job.attrs.params.providers) ? job.attrs.params.providers : [];
    const provider = providers[index] || `provider ${index}`;
    const fields = value && value.fields ? value.fields : value;
    const feature = job.attrs.subfeature || "Eden AI";
    if (fields && typeof fields.text === "string") return card(provider, `${feature} · transcript`, transcript(fields));
    return card(provider, feature, el("pre", { class: "json" }, pretty(fields, 1500)));
  }

  // --- webhooks -------------------------------------------------------------------------------

  /** An attempt's error note, unless it only repeats the status code. */
  function extraError(attempt) {
    return attempt.error && attempt.error !== `HTTP ${attempt.status_code}` ? ` · ${attempt.error}` : "";
  }

  function lastAnswer(delivery) {
    const last = delivery.attempts && delivery.attempts.length ? delivery.attempts[delivery.attempts.length - 1] : null;
    if (!last) return "—";
    if (last.status_code) return `HTTP ${last.status_code}${extraError(last)}`;
    return last.error || "no answer";
  }

  function attemptsList(delivery) {
    if (!delivery.attempts || !delivery.attempts.length) return el("p", { class: "muted" }, "No attempt yet.");
    return el(
      "ol",
      { class: "attempts" },
      delivery.attempts.map((a, n) =>
        el(
          "li",
          null,
          el("span", { class: "mono" }, `#${n + 1}`),
          el("span", { class: "mono" }, isoTime(a.at)),
          a.status_code ? badge(`HTTP ${a.status_code}`, a.status_code < 300 ? "good" : "bad") : badge("no answer", "bad"),
          extraError(a) ? el("span", { class: "error-text" }, a.error) : null,
          typeof a.latency_ms === "number" ? el("span", { class: "muted" }, `${Math.round(a.latency_ms)} ms`) : null,
          a.fault ? badge(`fault: ${a.fault}`, "warn") : null,
        ),
      ),
    );
  }

  function renderJobDeliveries(root, job) {
    root.replaceChildren();
    if (!job.deliveries.length) {
      root.append(el("p", { class: "muted" }, TERMINAL.has(job.status) ? "No webhook for this job." : "None yet: a job with a callback URL notifies it when it ends."));
      return;
    }
    const table = el(
      "table",
      { class: "grid", "data-testid": "job-deliveries" },
      el("thead", null, el("tr", null, ["Status", "Event", "URL", "Attempts", "Last answer"].map((h) => el("th", { scope: "col" }, h)))),
      el(
        "tbody",
        null,
        job.deliveries.map((d) =>
          el(
            "tr",
            { "data-delivery": d.id, "data-status": d.status },
            el("td", null, badge(d.status)),
            el("td", { class: "mono" }, d.event),
            el("td", { class: "path" }, d.url),
            el("td", { class: "num" }, String(d.attempt_count)),
            el("td", null, lastAnswer(d)),
          ),
        ),
      ),
    );
    root.append(table);
  }

  function toggle(key) {
    if (S.expanded.has(key)) S.expanded.delete(key);
    else S.expanded.add(key);
  }

  async function renderWebhooks(panel) {
    const { deliveries } = await api("webhooks", { query: { limit: 50 } });
    $("count-webhooks").textContent = deliveries.length ? String(deliveries.length) : "";
    const tools = el("div", { class: "panel-tools" }, el("span", { class: "muted" }, "Newest 50 deliveries, with every attempt (retries included). Select a row for its attempts and body."));
    if (!deliveries.length) {
      panel.replaceChildren(tools, el("p", { class: "empty" }, "No webhook yet. Jobs submitted with a callback URL (Hume callback_url, Eden AI webhook_receiver) deliver here when they end."));
      return;
    }
    const body = el("tbody");
    for (const d of deliveries) {
      const key = `delivery:${d.id}`;
      const open = S.expanded.has(key);
      body.append(
        el(
          "tr",
          { class: `row${open ? " expanded" : ""}`, tabindex: "0", "aria-expanded": open ? "true" : "false", "data-toggle": key, "data-delivery": d.id, "data-status": d.status },
          el("td", null, badge(d.status)),
          el("td", { class: "mono nowrap" }, d.event),
          el("td", { class: "id", title: d.job_id || "" }, d.job_id ? shortId(d.job_id) : "—"),
          el("td", { class: "mono" }, d.tenant),
          el("td", { class: "path" }, d.url),
          el("td", { class: "num" }, String(d.attempt_count)),
          el("td", null, lastAnswer(d)),
          el("td", { class: "mono nowrap" }, d.next_attempt_at ? isoTime(d.next_attempt_at) : "—"),
          el("td", null, el("button", { type: "button", class: "small", "data-redeliver": d.id }, "Redeliver")),
        ),
      );
      if (open) {
        body.append(
          el(
            "tr",
            { class: "expanded" },
            el("td", { colspan: "9" }, el("h3", null, "Attempts"), attemptsList(d), el("h3", null, "Body"), el("pre", { class: "json" }, pretty(d.body))),
          ),
        );
      }
    }
    const table = el(
      "table",
      { class: "grid", "data-testid": "webhooks-table" },
      el("thead", null, el("tr", null, ["Status", "Event", "Job", "Tenant", "URL", "Attempts", "Last answer", "Next attempt", ""].map((h) => el("th", { scope: "col" }, h)))),
      body,
    );
    panel.replaceChildren(tools, table);
  }

  // --- journal --------------------------------------------------------------------------------

  const problem = (e) => e.status >= 400 || e.violations.length > 0 || e.fault;

  async function renderJournal(panel) {
    const page = await api("journal", { query: { limit: 100 } });
    const entries = S.onlyProblems ? page.entries.filter(problem) : page.entries;
    $("count-journal").textContent = page.entries.length ? String(page.entries.length) : "";
    const check = el("input", { type: "checkbox", id: "journal-problems" });
    check.checked = S.onlyProblems;
    const tools = el(
      "div",
      { class: "panel-tools" },
      el("label", { class: "check", for: "journal-problems" }, check, "Only problems (4xx/5xx, contract violations, faults)"),
      el("span", { class: "muted push" }, `Newest ${page.entries.length} of the journal (capacity ${page.capacity}${page.dropped ? `, ${page.dropped} dropped` : ""}); control calls are not recorded.`),
    );
    if (!entries.length) {
      panel.replaceChildren(tools, el("p", { class: "empty" }, S.onlyProblems ? "No problem recorded." : "No client request yet."));
      return;
    }
    const body = el("tbody");
    for (const e of entries) {
      const key = `journal:${e.id}`;
      const open = S.expanded.has(key);
      const findings = [];
      if (e.violations.length) findings.push(badge(`${e.violations.length} violation${e.violations.length === 1 ? "" : "s"}`, "bad"));
      if (e.fault) findings.push(badge(`fault: ${e.fault.kind}`, "warn"));
      body.append(
        el(
          "tr",
          { class: `row${open ? " expanded" : ""}`, tabindex: "0", "aria-expanded": open ? "true" : "false", "data-toggle": key, "data-entry": e.id },
          el("td", { class: "num mono" }, String(e.id)),
          el("td", { class: "mono nowrap" }, new Date(e.at * 1000).toLocaleTimeString()),
          el("td", { class: "mono" }, e.method),
          el("td", { class: "path" }, e.path + (e.query ? `?${clip(e.query, 80)}` : "")),
          el("td", null, badge(String(e.status), e.status >= 500 ? "bad" : e.status >= 400 ? "warn" : "good")),
          el("td", { class: "mono" }, e.tenant || "—"),
          el("td", { class: "mono" }, e.operation || e.provider || "—"),
          el("td", { class: "num" }, e.duration_ms.toFixed(1)),
          el("td", null, findings),
        ),
      );
      if (open) {
        const details = [];
        if (e.violations.length) {
          details.push(el("h3", null, "Contract violations"));
          details.push(el("ul", { class: "violations" }, e.violations.map((v) => el("li", null, el("span", { class: "mono" }, `${v.location || ""} ${v.pointer || ""}`), ` · ${v.rule || ""}: ${v.message || ""}`))));
        }
        if (e.fault) details.push(el("h3", null, "Fault"), el("p", null, e.fault.description || e.fault.kind));
        if (!details.length) details.push(el("p", { class: "muted" }, "Served as the contract says."));
        body.append(el("tr", { class: "expanded" }, el("td", { colspan: "9" }, details)));
      }
    }
    const table = el(
      "table",
      { class: "grid", "data-testid": "journal-table" },
      el("thead", null, el("tr", null, ["#", "Time", "Method", "Path", "Status", "Tenant", "Operation", "ms", "Findings"].map((h) => el("th", { scope: "col" }, h)))),
      body,
    );
    panel.replaceChildren(tools, table);
  }

  // --- contract report ------------------------------------------------------------------------

  async function renderReport(panel) {
    const { tenants, validation } = await api("report");
    const reports = await Promise.all(tenants.slice(0, 20).map((t) => api("report", { query: { tenant: t } })));
    const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
    const findings = reports.reduce((n, r) => n + r.violations.length + r.behaviours.filter((b) => b.finding).length, 0);
    $("count-report").textContent = findings ? String(findings) : "";
    const tools = el("div", { class: "panel-tools" }, el("span", { class: "muted" }, `What each client (API key) got wrong: contract violations and behaviours a batch client should avoid. Validation: ${validation}.`));
    if (!reports.length) {
      panel.replaceChildren(tools, el("p", { class: "empty" }, "No client request yet."));
      return;
    }
    const sections = reports.map((r) => {
      const section = el(
        "div",
        { class: "report-tenant", "data-tenant": r.tenant },
        el("h4", null, el("span", { class: "mono" }, r.tenant), r.clean ? badge("clean", "good") : badge(plural(r.violations.length + r.behaviours.filter((b) => b.finding).length, "finding"), "bad"), el("span", { class: "muted" }, `${plural(r.requests, "request")} · ${r.refused} refused`)),
      );
      if (r.violations.length) {
        section.append(
          el(
            "table",
            { class: "grid", "data-testid": "violations-table" },
            el("thead", null, el("tr", null, ["Operation", "Where", "Rule", "Message", "Count", "Answer"].map((h) => el("th", { scope: "col" }, h)))),
            el(
              "tbody",
              null,
              r.violations.map((v) =>
                el(
                  "tr",
                  null,
                  el("td", { class: "mono" }, `${v.method || ""} ${v.operation}`),
                  el("td", { class: "mono" }, `${v.location} ${v.pointer}`),
                  el("td", { class: "mono" }, v.rule),
                  el("td", null, v.message),
                  el("td", { class: "num" }, String(v.count)),
                  el("td", null, v.refused ? badge("refused (400)", "bad") : badge("served", "warn")),
                ),
              ),
            ),
          ),
        );
      }
      if (r.behaviours.length) {
        section.append(
          el(
            "table",
            { class: "grid" },
            el("thead", null, el("tr", null, ["Behaviour", "Operation", "Message", "Count"].map((h) => el("th", { scope: "col" }, h)))),
            el("tbody", null, r.behaviours.map((b) => el("tr", null, el("td", null, badge(b.kind, b.finding ? "bad" : "good")), el("td", { class: "mono" }, b.operation), el("td", null, b.message), el("td", { class: "num" }, String(b.count))))),
          ),
        );
      }
      return section;
    });
    panel.replaceChildren(tools, ...sections);
  }

  // --- faults ---------------------------------------------------------------------------------

  function describeMatch(match) {
    const parts = Object.entries(match || {})
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
    return parts.length ? clip(parts.join(" "), 160) : "every call";
  }

  function describeAction(action) {
    const parts = [action.kind];
    if (action.status) parts.push(String(action.status));
    if (action.retry_after !== undefined && action.retry_after !== null) parts.push(`Retry-After ${action.retry_after}`);
    if (action.delay !== undefined && action.delay !== null) parts.push(`delay ${typeof action.delay === "object" ? JSON.stringify(action.delay) : action.delay}`);
    if (action.profile) parts.push(`profile ${action.profile}`);
    if (action.overrides) parts.push(JSON.stringify(action.overrides));
    return parts.join(" · ");
  }

  function renderFaults(panel) {
    const plans = S.faults.plans;
    const tools = el(
      "div",
      { class: "panel-tools" },
      el("span", { class: "muted" }, "Fault rules with how many matching calls each saw and how often it fired. Load a scenario from the toolbar."),
      plans.length ? el("button", { type: "button", class: "small danger push", id: "clear-faults" }, "Remove all rules") : null,
    );
    if (!plans.length) {
      panel.replaceChildren(tools, el("p", { class: "empty" }, "No fault rule installed: every call is served normally."));
      return;
    }
    const sections = plans.map((plan) =>
      el(
        "div",
        { class: "report-tenant" },
        el("h4", null, plan.tenant ? el("span", { class: "mono" }, `tenant ${plan.tenant}`) : "Server-wide", badge(plan.mode, "info")),
        el(
          "table",
          { class: "grid", "data-testid": "faults-table" },
          el("thead", null, el("tr", null, ["Rule", "Match", "Action", "Times", "Seen", "Fired", "Left", ""].map((h) => el("th", { scope: "col" }, h)))),
          el(
            "tbody",
            null,
            plan.rules.map((r) =>
              el(
                "tr",
                { "data-rule": r.id },
                el("td", null, el("div", { class: "mono" }, r.id), r.name ? el("div", { class: "muted" }, r.name) : null),
                el("td", { class: "mono" }, describeMatch(r.match)),
                el("td", null, describeAction(r.action)),
                el("td", { class: "num" }, r.times === null ? "∞" : String(r.times)),
                el("td", { class: "num" }, String(r.seen ?? 0)),
                el("td", { class: "num" }, String(r.fired ?? 0)),
                el("td", { class: "num" }, r.left === null || r.left === undefined ? "∞" : String(r.left)),
                el("td", null, el("button", { type: "button", class: "small", "data-remove-rule": r.id }, "Remove")),
              ),
            ),
          ),
        ),
      ),
    );
    panel.replaceChildren(tools, ...sections);
  }

  // --- tenants --------------------------------------------------------------------------------

  function renderTenants(panel) {
    if (!S.tenants.length) {
      panel.replaceChildren(el("p", { class: "empty" }, "No tenant yet: each API key becomes a tenant with its own jobs, clock, profile and seed."));
      return;
    }
    const table = el(
      "table",
      { class: "grid" },
      el("thead", null, el("tr", null, ["Tenant", "Jobs", "Profile", "Seed", "Clock", ""].map((h) => el("th", { scope: "col" }, h)))),
      el(
        "tbody",
        null,
        S.tenants.map((t) =>
          el(
            "tr",
            null,
            el("td", { class: "mono" }, t.tenant),
            el("td", { class: "num" }, String(t.jobs)),
            el("td", null, t.profile),
            el("td", { class: "num" }, String(t.seed)),
            el("td", { class: "mono" }, isoTime(t.clock.now, true), " ", badge(t.clock.frozen ? "frozen" : "running", t.clock.frozen ? "frozen" : "moving")),
            el(
              "td",
              null,
              el("button", { type: "button", class: "small", "data-filter-tenant": t.tenant }, "Show jobs"),
              " ",
              el("button", { type: "button", class: "small", "data-scope-tenant": t.tenant }, "Control"),
            ),
          ),
        ),
      ),
    );
    panel.replaceChildren(el("div", { class: "panel-tools" }, el("span", { class: "muted" }, "Each API key is a tenant. “Control” points the toolbar (clock, profile, scenario, reset) at one tenant.")), table);
  }

  // --- tabs -----------------------------------------------------------------------------------

  const TABS = ["webhooks", "journal", "report", "faults", "tenants"];

  async function loadTab() {
    const panel = $(`panel-${S.tab}`);
    if (S.tab === "webhooks") await renderWebhooks(panel);
    else if (S.tab === "journal") await renderJournal(panel);
    else if (S.tab === "report") await renderReport(panel);
    else if (S.tab === "faults") renderFaults(panel);
    else renderTenants(panel);
  }

  function showTab(name, focus) {
    S.tab = name;
    for (const tab of TABS) {
      const button = $(`tab-${tab}`);
      const selected = tab === name;
      button.setAttribute("aria-selected", selected ? "true" : "false");
      button.tabIndex = selected ? 0 : -1;
      $(`panel-${tab}`).hidden = !selected;
      if (selected && focus) button.focus();
    }
    loadTab().catch((error) => toast(error.message, true));
  }

  // --- wiring ---------------------------------------------------------------------------------

  function wire() {
    $("advance-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const seconds = Number($("advance-seconds").value);
      if (!Number.isFinite(seconds) || seconds < 0) {
        toast("Enter a number of seconds (0 or more).", true);
        return;
      }
      advance(seconds);
    });
    for (const button of document.querySelectorAll("[data-advance]")) {
      button.addEventListener("click", () => advance(Number(button.dataset.advance)));
    }
    $("freeze-button").addEventListener("click", () => {
      const frozen = !(S.clock && S.clock.frozen);
      act(frozen ? "Clock frozen" : "Clock running", () => api("clock/set", { method: "POST", body: { ...scoped(), frozen } }));
    });
    $("profile-select").addEventListener("change", (event) => {
      const profile = event.target.value;
      act(`Profile ${profile} for ${S.scope ? `tenant ${S.scope}` : "the server"}`, () => api("profile", { method: "PUT", body: { ...scoped(), profile } }));
    });
    $("scope-select").addEventListener("change", (event) => {
      S.scope = event.target.value;
      kick();
    });
    $("scenario-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const scenario = $("scenario-select").value;
      if (!scenario) return;
      act((r) => `Scenario ${scenario} loaded: ${r.rules.length} rule${r.rules.length === 1 ? "" : "s"} for ${S.scope ? `tenant ${S.scope}` : "every tenant"}`, () => api("faults", { method: "POST", body: { ...scoped(), scenario } }));
    });
    $("reset-button").addEventListener("click", () => {
      const dialog = $("confirm-dialog");
      $("confirm-title").textContent = S.scope ? `Reset tenant ${S.scope}?` : "Reset the whole server?";
      $("confirm-text").textContent = S.scope
        ? "This tenant's jobs, results, webhook deliveries, clock, profile, seed, journal entries and fault rules are forgotten."
        : "Every job, result, webhook delivery, journal entry and fault rule is forgotten; clocks, profile and seed go back to the start-up configuration.";
      dialog.returnValue = "";
      dialog.showModal();
    });
    $("confirm-dialog").addEventListener("close", () => {
      if ($("confirm-dialog").returnValue !== "ok") return;
      const tenant = S.scope;
      S.selected = null;
      S.expanded.clear();
      act(tenant ? `Tenant ${tenant} reset` : "Server reset", () => api("reset", { method: "POST", body: tenant ? { tenant } : {} }));
    });
    $("token-dialog").addEventListener("close", () => {
      asking = false;
      const value = $("token-input").value.trim();
      if (value) setToken(value);
      kick();
    });

    $("step-button").addEventListener("click", () => stepSelected("next"));
    $("finish-button").addEventListener("click", () => stepSelected("terminal"));
    $("cancel-button").addEventListener("click", () => {
      const id = S.selected;
      if (id) act("Job cancelled", () => api(`jobs/${enc(id)}/cancel`, { method: "POST", body: {} }));
    });

    for (const id of ["job-search", "provider-filter", "tenant-filter", "status-filter", "parts-filter"]) {
      $(id).addEventListener(id === "job-search" ? "input" : "change", renderJobs);
    }
    const jobs = $("jobs-body");
    jobs.addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-job]");
      if (row) selectJob(row.dataset.job);
    });
    jobs.addEventListener("keydown", (event) => {
      const row = event.target.closest("tr[data-job]");
      if (!row) return;
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        selectJob(row.dataset.job);
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const next = event.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
        if (next) next.focus();
      }
    });

    const tablist = document.querySelector('[role="tablist"]');
    tablist.addEventListener("click", (event) => {
      const tab = event.target.closest('[role="tab"]');
      if (tab) showTab(tab.id.slice(4));
    });
    tablist.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
      const at = TABS.indexOf(S.tab);
      const next = TABS[(at + (event.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length];
      showTab(next, true);
    });

    const activity = document.querySelector(".tabs-panel");
    activity.addEventListener("click", (event) => {
      const target = event.target;
      const redeliver = target.closest("[data-redeliver]");
      if (redeliver) {
        act("Redelivery queued", () => api(`webhooks/${enc(redeliver.dataset.redeliver)}/redeliver`, { method: "POST" }));
        return;
      }
      const remove = target.closest("[data-remove-rule]");
      if (remove) {
        act(`Rule ${remove.dataset.removeRule} removed`, () => api(`faults/${enc(remove.dataset.removeRule)}`, { method: "DELETE" }));
        return;
      }
      if (target.closest("#clear-faults")) {
        act((r) => `${r.cleared} rule${r.cleared === 1 ? "" : "s"} removed`, () => api("faults", { method: "DELETE" }));
        return;
      }
      const filter = target.closest("[data-filter-tenant]");
      if (filter) {
        $("tenant-filter").value = filter.dataset.filterTenant;
        renderJobs();
        $("jobs-panel").focus();
        return;
      }
      const scope = target.closest("[data-scope-tenant]");
      if (scope) {
        S.scope = scope.dataset.scopeTenant;
        kick();
        return;
      }
      const row = target.closest("tr[data-toggle]");
      if (row) {
        toggle(row.dataset.toggle);
        loadTab().catch((error) => toast(error.message, true));
      }
    });
    activity.addEventListener("keydown", (event) => {
      const row = event.target.closest("tr[data-toggle]");
      if (row && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        toggle(row.dataset.toggle);
        loadTab().catch((error) => toast(error.message, true));
      }
    });
    activity.addEventListener("change", (event) => {
      if (event.target.id === "journal-problems") {
        S.onlyProblems = event.target.checked;
        loadTab().catch((error) => toast(error.message, true));
      }
    });
  }

  function advance(seconds) {
    act((clock) => `Clock advanced by ${duration(seconds)} → ${isoTime(clock.now, true)}`, () => api("clock/advance", { method: "POST", body: { ...scoped(), seconds } }));
  }

  function stepSelected(to) {
    const id = S.selected;
    if (!id) return;
    act((job) => `Job ${to === "terminal" ? "run to its end" : "stepped"}: ${job.status}`, () => api(`jobs/${enc(id)}/step`, { method: "POST", body: { to } }));
  }

  function start() {
    wire();
    const hash = new URLSearchParams(window.location.hash.slice(1));
    if (hash.get("job")) S.selected = hash.get("job");
    window.setInterval(() => {
      if (!document.hidden) renderClock();
    }, 500);
    kick();
  }

  start();
})();
