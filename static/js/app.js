/* Distillery dashboard behaviour. Plain ES2020, no build step; loaded with
   `defer` on every page, after htmx and Plotly. Everything is driven by data
   attributes so templates stay declarative. */
"use strict";

(() => {
  const TERMINAL = new Set(["succeeded", "failed", "errored", "cancelled"]);

  /* ---------------------------------------------------------------- time --
     Servers render UTC ISO timestamps; only the browser knows the viewer's
     time zone and locale, so we format here. */
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });
  const UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800],
    ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];

  function formatAbsolute(date) {
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function formatRelative(date) {
    const secs = (date.getTime() - Date.now()) / 1000;
    for (const [unit, size] of UNITS) {
      if (Math.abs(secs) >= size || unit === "second") return rtf.format(Math.round(secs / size), unit);
    }
    return "";
  }

  function localizeTimes(root = document) {
    for (const el of root.querySelectorAll("time[datetime][data-local]")) {
      const date = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) continue;   // keep the server's text
      if (el.dataset.local === "relative") {
        el.textContent = formatRelative(date);
        el.title = formatAbsolute(date);
      } else {
        el.textContent = formatAbsolute(date);
      }
    }
  }

  /* Compact durations for progress UIs: "12s", "1m 05s", "2h 03m". */
  function formatDuration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const pad = (n) => String(n).padStart(2, "0");
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
    return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  }

  /* -------------------------------------------------------------- charts --
     Figures travel as JSON (Django's json_script) next to an empty div, so
     pages render without JS and the same figure can be built in tests. They
     are whole plotly.py figures, house template included (webapp/ui/plotting.py):
     the browser only draws them. */
  function renderCharts(root = document) {
    for (const el of root.querySelectorAll(".chart[data-figure]:not([data-rendered])")) {
      el.dataset.rendered = "1";   // mark first: a broken figure must not retry on every swap
      try {
        if (!window.Plotly) throw new Error("Plotly is not loaded");
        const src = document.getElementById(el.dataset.figure);
        if (!src) throw new Error(`no figure script #${el.dataset.figure}`);
        const fig = JSON.parse(src.textContent);
        window.Plotly.newPlot(el, fig.data || [], fig.layout || {}, { responsive: true, displaylogo: false });
      } catch (err) {
        console.error("chart", el.dataset.figure, err);
        el.classList.add("chart-failed");
        el.innerHTML = '<p class="chart-error">Chart could not be displayed.</p>';
      }
    }
  }

  /* ----------------------------------------------------------- live jobs --
     A "live root" is a single-job element ([data-live-job]) or a job table
     body ([data-live-jobs]). Each owns one WebSocket; updates are applied to
     [data-field] children of the root (single job) or of the matching row. */
  const TEXT_FIELDS = ["status_label", "message", "error", "device_kind"];
  const COUNT_FIELDS = ["step", "total"];   // whole numbers, shown with thousands separators
  const formatCount = (n) => (n == null ? "" : Math.round(Number(n)).toLocaleString("en-US"));
  const clocks = new Map();   // container -> {base, at, running}: local elapsed ticking
  const connections = new Set();
  let unloading = false;
  // Set once the user navigates away: a reload scheduled by a finished job must not undo their click.
  let leaving = false;

  const fields = (container, name) => container.querySelectorAll(`[data-field="${name}"]`);
  const setText = (container, name, value) => {
    for (const el of fields(container, name)) el.textContent = value ?? "";
  };

  function applyJob(container, job) {
    for (const name of TEXT_FIELDS) setText(container, name, job[name]);
    for (const name of COUNT_FIELDS) setText(container, name, formatCount(job[name]));
    for (const el of fields(container, "status_badge")) {
      el.className = `badge status-${job.status}`;
      el.textContent = job.status_label;
    }
    const pct = job.progress == null ? null : Math.round(job.progress * 100);
    for (const el of fields(container, "progress")) {
      el.max = 100;
      if (pct == null) el.removeAttribute("value"); else el.value = job.progress * 100; // no value = indeterminate bar
    }
    setText(container, "progress_pct", pct == null ? "" : `${pct}%`);
    setText(container, "eta", etaText(job));
    updateLog(container, job.log_tail);
    for (const el of container.querySelectorAll("[data-show-when]")) {
      el.hidden = !showWhen(el.dataset.showWhen, job);
    }
    container.dataset.status = job.status;
    startClock(container, job);
  }

  /* The server withholds the time left until the rate it extrapolates is measured (Job.eta_seconds): until
     then a running job says it is estimating rather than show a first guess hours off. */
  function etaText(job) {
    if (job.status !== "running") return "";
    return job.eta_seconds != null ? `· about ${formatDuration(job.eta_seconds)} left` : "· estimating time left…";
  }

  /* "terminal" = finished; "running" = still in progress (queued or running);
     any other token matches that exact status, e.g. data-show-when="failed errored". */
  function showWhen(spec, job) {
    return spec.split(/\s+/).some((t) =>
      t === "terminal" ? job.is_terminal : t === "running" ? !job.is_terminal : t === job.status);
  }

  function updateLog(container, text) {
    for (const el of fields(container, "log_tail")) {
      // Stick to the bottom unless the reader has scrolled up to read history.
      const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24 || !el.dataset.seen;
      el.textContent = text ?? "";
      el.dataset.seen = "1";
      if (atBottom) el.scrollTop = el.scrollHeight;
    }
  }

  /* Elapsed time ticks locally between messages. The server's elapsed_seconds
     is the base (avoids client/server clock skew); started_at is a fallback. */
  function startClock(container, job) {
    let base = job.elapsed_seconds;
    if (base == null && job.started_at) base = (Date.now() - Date.parse(job.started_at)) / 1000;
    const previous = clocks.get(container);
    clocks.set(container, {
      base: base ?? 0, at: performance.now(), running: job.status === "running",
      // Device time accrues on the row at each heartbeat; between them it grows with the clock while the job
      // runs. Never shown going backwards when a message carries the value of the last heartbeat.
      device: job.device_seconds ?? 0,
      deviceShown: previous && previous.running ? previous.deviceShown : 0,
    });
    paintClock(container);
  }

  function paintClock(container) {
    const c = clocks.get(container);
    if (!c) return;
    const ticked = c.running ? (performance.now() - c.at) / 1000 : 0;
    setText(container, "elapsed", c.base || c.running ? formatDuration(c.base + ticked) : "");
    c.deviceShown = c.running ? Math.max(c.deviceShown, c.device + ticked) : c.device;
    setText(container, "device_seconds", formatCount(c.deviceShown));
  }

  function tickClocks() {
    for (const [container, c] of clocks) {
      if (!container.isConnected) clocks.delete(container);
      else if (c.running) paintClock(container);
    }
  }

  class LiveConnection {
    constructor(root) {
      this.root = root;
      this.isList = root.hasAttribute("data-live-jobs");
      this.backoff = 1000;
      this.seq = 0;              // counts socket messages; stale status fetches are dropped
      this.stopped = false;
      this.reloading = false;
      // Rows/roots rendered non-terminal count as "seen running" for job:finished.
      this.seenActive = new Set();
      const initial = this.isList ? root.querySelectorAll("tr[data-job-id][data-status]") : [root];
      for (const el of initial) {
        if (el.dataset.status && !TERMINAL.has(el.dataset.status)) this.seenActive.add(this.key(el));
      }
      this.connect();
    }

    key(el) { return this.isList ? el.dataset.jobId : "root"; }

    url() {
      const path = this.root.dataset.wsPath;
      if (/^wss?:/.test(path)) return path;
      return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
    }

    setConnectionText(text) {
      const el = this.root.querySelector("[data-connection]") || document.querySelector("[data-connection]");
      if (el) el.textContent = text;
    }

    connect() {
      if (this.stopped || unloading) return;
      try {
        this.ws = new WebSocket(this.url());
      } catch (err) {
        console.error("live jobs: bad WebSocket URL", err);
        return this.scheduleReconnect();
      }
      this.ws.addEventListener("open", () => this.onOpen());
      this.ws.addEventListener("message", (ev) => this.onMessage(ev));
      this.ws.addEventListener("close", (ev) => this.onClose(ev));
    }

    async onOpen() {
      this.backoff = 1000;
      this.setConnectionText("");
      // Catch up on whatever happened while we were not connected.
      refreshCurves(this.root);
      const statusUrl = this.root.dataset.statusUrl;
      if (!statusUrl) return;
      const seq = this.seq;
      try {
        const resp = await fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
        const body = await resp.json();
        if (seq !== this.seq) return;   // a fresher socket message already arrived
        const jobs = Array.isArray(body) ? body : body.jobs || [body.job || body];
        jobs.forEach((job) => this.handleJob(job));
      } catch (err) {
        console.warn("live jobs: status fetch failed", err);
      }
    }

    onMessage(ev) {
      this.seq += 1;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === "job" && msg.job) this.handleJob(msg.job);
      else if (msg.type === "jobs" && Array.isArray(msg.jobs)) msg.jobs.forEach((j) => this.handleJob(j));
      else if (msg.type === "metrics" && Array.isArray(msg.points)) extendCurves(this.root, msg.points);
    }

    onClose(ev) {
      if (this.stopped || unloading) return;
      if (ev.code === 4404 || ev.code === 4403) {
        this.stopped = true;
        return this.setConnectionText("not available");
      }
      // A finished job will not change again: no point reconnecting.
      if (!this.isList && TERMINAL.has(this.root.dataset.status)) return this.setConnectionText("");
      this.scheduleReconnect();
    }

    scheduleReconnect() {
      this.setConnectionText("reconnecting…");
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 15000);
    }

    close() {
      this.stopped = true;
      if (this.ws) this.ws.close(1000);
    }

    handleJob(job) {
      let container = this.root;
      // A list of one sweep's children ignores the task's other jobs.
      const parent = this.root.dataset.parentId;
      if (parent && String(job.parent_id) !== parent) return;
      // A list of some kinds of job (e.g. the Evaluation tab's) ignores the others.
      const kinds = this.root.dataset.kinds;
      if (kinds && !kinds.split(" ").includes(job.kind)) return;
      if (this.isList) {
        container = this.root.querySelector(`tr[data-job-id="${CSS.escape(String(job.id))}"]`);
        if (!container) {
          // A list may show only the newest jobs (the overview shows five): an older job it leaves out is
          // not news. A job newer than every row was started since: the server renders rows best, reload.
          const shown = [...this.root.querySelectorAll("tr[data-job-id]")].map((tr) => Number(tr.dataset.jobId));
          if (shown.length && job.id <= Math.max(...shown)) return;
          return this.reload(0);
        }
      }
      applyJob(container, job);
      const key = this.key(container);
      if (!job.is_terminal) this.seenActive.add(key);
      else if (this.seenActive.delete(key)) {
        // Finished while this page watched it.
        document.dispatchEvent(new CustomEvent("job:finished", { detail: job }));
        if (this.root.hasAttribute("data-reload-on-finish")) this.reload(300);
      }
    }

    reload(delay) {
      if (this.reloading) return;
      this.reloading = true;
      setTimeout(() => { if (!leaving) location.reload(); }, delay);
    }
  }

  /* ------------------------------------------------------ live curves -- */
  // A training job's chart (.chart[data-live-metrics]) grows as metric points arrive over the socket.
  function curvesChart(root) {
    const chart = root.querySelector(".chart[data-live-metrics]");
    return chart && chart.data && window.Plotly ? chart : null;
  }

  // The server draws one trace per curve it shows, its metric's key in `meta` (its name is for people);
  // other metrics (e.g. the learning rate) are skipped.
  function traceIndex(chart, name) {
    return chart.data.findIndex((trace) => (trace.meta ?? trace.name) === name);
  }

  function extendCurves(root, points) {
    const chart = curvesChart(root);
    if (!chart) return;
    const byName = new Map();
    for (const p of points) {
      if (!byName.has(p.name)) byName.set(p.name, { x: [], y: [] });
      byName.get(p.name).x.push(p.step);
      byName.get(p.name).y.push(p.value);
    }
    for (const [name, xy] of byName) {
      const index = traceIndex(chart, name);
      if (index >= 0) window.Plotly.extendTraces(chart, { x: [xy.x], y: [xy.y] }, [index]);
    }
  }

  // After a reconnect the socket may have missed points: reload the whole series once.
  async function refreshCurves(root) {
    const chart = curvesChart(root);
    if (!chart || !chart.dataset.metricsUrl) return;
    try {
      const resp = await fetch(chart.dataset.metricsUrl, { credentials: "same-origin" });
      if (!resp.ok) return;
      const series = await resp.json();
      for (const [name, xy] of Object.entries(series)) {
        const index = traceIndex(chart, name);
        if (index >= 0) window.Plotly.restyle(chart, { x: [xy.x], y: [xy.y] }, [index]);
      }
    } catch (err) {
      console.warn("live curves: refresh failed", err);
    }
  }

  function initLive(root = document) {
    for (const el of root.querySelectorAll("[data-live-job][data-ws-path], [data-live-jobs][data-ws-path]")) {
      if (el.dataset.liveInit) continue;
      el.dataset.liveInit = "1";
      connections.add(new LiveConnection(el));
    }
  }

  /* Close sockets whose element htmx swapped away, so they don't reconnect forever. */
  function pruneLive() {
    for (const conn of connections) {
      if (!conn.root.isConnected) { conn.close(); connections.delete(conn); }
    }
  }

  /* ------------------------------------------------------------- confirm --
     Capture phase, so a "No" stops the click before htmx or the form sees it. */
  /* Evidence that a finished job changes ([data-refresh-on-finish="kind ..."]) is fetched again and
     swapped in place: the page updates without a reload, and its charts are drawn again. */
  const pendingRefresh = new Set();
  let refreshTimer = null;

  function onJobFinished(ev) {
    const job = ev.detail;
    if (job.status !== "succeeded" || !window.htmx) return;
    for (const el of document.querySelectorAll("[data-refresh-on-finish][id]")) {
      if (el.dataset.refreshOnFinish.split(" ").includes(job.kind)) pendingRefresh.add(el.id);
    }
    // Jobs often finish in a burst: one fetch for all of them, so swaps never race each other.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshEvidence, 500);
  }

  function refreshEvidence() {
    for (const id of pendingRefresh) {
      window.htmx.ajax("GET", location.pathname + location.search, { target: `#${id}`, select: `#${id}`, swap: "outerHTML" });
    }
    pendingRefresh.clear();
  }

  function onConfirmClick(ev) {
    const button = ev.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm || "Are you sure?")) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
    }
  }

  /* ------------------------------------------------------ upload progress -- */
  // Big dataset files take a while to send: show how much has gone, then show the server's answer
  // (the dataset page on success, the form with its error otherwise), like a normal submit.
  function onUploadSubmit(ev) {
    const form = ev.target.closest?.("form[data-upload-form]");
    if (!form || !window.FormData || !form.querySelector("input[type=file]")?.files.length) return;
    ev.preventDefault();
    const bar = form.querySelector("[data-upload-progress]");
    const button = form.querySelector("button[type=submit]");
    if (bar) { bar.hidden = false; bar.value = 0; }
    if (button) { button.setAttribute("aria-busy", "true"); button.disabled = true; }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || location.href);
    xhr.upload.addEventListener("progress", (e) => { if (bar && e.lengthComputable) bar.value = (100 * e.loaded) / e.total; });
    xhr.addEventListener("load", () => {
      if (xhr.responseURL && xhr.responseURL !== (form.action || location.href) && xhr.status < 400) {
        location.assign(xhr.responseURL);   // followed the redirect to the new dataset
        return;
      }
      // The form came back with its errors: swap in the re-rendered upload box only.
      const fresh = new DOMParser().parseFromString(xhr.responseText, "text/html").querySelector("#upload");
      const current = form.closest("#upload");
      if (fresh && current) current.replaceWith(fresh);
      else {
        if (button) { button.removeAttribute("aria-busy"); button.disabled = false; }
        if (bar) bar.hidden = true;
        alert(`The upload was refused (HTTP ${xhr.status}).`);
      }
    });
    xhr.addEventListener("error", () => {
      if (button) { button.removeAttribute("aria-busy"); button.disabled = false; }
      if (bar) bar.hidden = true;
      alert("The upload was interrupted (network error). Please try again.");
    });
    xhr.send(new FormData(form));
  }

  /* ---------------------------------------------------- job duration estimate --
     A long job's form says how long it will take ([data-estimate], built by webapp/ui/estimates.py from
     past jobs' measured cost) and updates as the training set, epochs or student sizes change. The same
     sums as TrainingRate.seconds; the server renders the first text, so it reads without JS too. */
  function roughDuration(seconds) {
    const minutes = Math.round(seconds / 60);
    if (minutes < 1) return "under a minute";
    if (minutes < 60) return `about ${minutes} min`;
    const hours = Math.floor(minutes / 60), rest = minutes % 60;
    return rest ? `about ${hours} h ${rest} min` : `about ${hours} h`;
  }

  function updateEstimate(form) {
    const el = form?.querySelector("[data-estimate]");
    const text = el?.querySelector("[data-estimate-text]");
    if (!text) return;
    const c = JSON.parse(el.dataset.estimate);
    const value = (name) => form.elements[name]?.value ?? "";
    const rows = c.rows[value("train")];
    const epochs = parseInt(value("epochs"), 10);
    if (!rows || !(epochs > 0)) {
      text.textContent = "Choose a training set and the epochs to see how long it takes.";
      return;
    }
    let sizes = [1];
    if (c.perLayer) {
      sizes = value("construction") === "pretrained" ? [c.pretrainedLayers]
        : [...new Set(value("layers").split(",").map((s) => parseInt(s, 10)).filter((n) => n > 0))];
      if (!sizes.length) sizes = [1];
    }
    const trained = value("validation") ? rows : rows * (1 - c.validationShare);
    const seconds = sizes.reduce(
      (sum, n) => sum + c.overheadSeconds + trained * epochs * c.secondsPerExample * (c.perLayer ? n : 1), 0);
    const where = c.device ? ` on ${c.device}` : "";
    const students = sizes.length > 1 ? ` for ${sizes.length} students` : "";
    text.textContent = `Up to ${roughDuration(seconds)}${where}${students}: ` +
      `${formatCount(rows)} rows × ${epochs} epoch${epochs === 1 ? "" : "s"}`;
  }

  function onEstimateInput(ev) {
    if (ev.target.form?.querySelector("[data-estimate]")) updateEstimate(ev.target.form);
  }

  // A slider's readout (<output for="its id">) shows its value as it moves, not only the value it loaded with.
  function onRangeInput(ev) {
    const input = ev.target;
    if (input?.type !== "range" || !input.id) return;
    document.querySelectorAll(`output[for~="${CSS.escape(input.id)}"]`).forEach((out) => { out.value = input.value; });
  }

  // "Quick first try" fills the form in place (the link reloads the page with ?preset=quick without JS).
  function onPresetClick(ev) {
    const link = ev.target.closest?.("a[data-preset]");
    const form = link?.closest("form");
    if (!form) return;
    ev.preventDefault();
    for (const [name, value] of Object.entries(JSON.parse(link.dataset.preset))) {
      if (form.elements[name]) form.elements[name].value = value;
    }
    updateEstimate(form);
  }

  /* ---------------------------------------------------------------- boot -- */
  function init() {
    localizeTimes();
    renderCharts();
    initLive();
  }

  document.addEventListener("click", onConfirmClick, true);
  document.addEventListener("job:finished", onJobFinished);
  document.addEventListener("submit", onUploadSubmit);
  document.addEventListener("input", onEstimateInput);
  document.addEventListener("input", onRangeInput);
  document.addEventListener("change", onEstimateInput);
  document.addEventListener("click", onPresetClick);
  // After settling, not right after the swap: charts must measure their final, laid-out container.
  document.addEventListener("htmx:afterSettle", () => { pruneLive(); init(); });
  // Free Plotly's resize listeners when htmx removes a chart.
  document.addEventListener("htmx:beforeCleanupElement", (ev) => {
    if (ev.target.matches?.(".chart[data-rendered]") && window.Plotly) window.Plotly.purge(ev.target);
  });
  window.addEventListener("beforeunload", () => { leaving = true; });
  window.addEventListener("pagehide", () => { unloading = true; connections.forEach((c) => c.ws?.close(1000)); });
  window.addEventListener("pageshow", (ev) => {
    if (!ev.persisted) return;   // back/forward cache restore: sockets were closed on pagehide
    unloading = false;
    leaving = false;
    connections.forEach((c) => { if (!c.stopped) c.connect(); });
  });
  setInterval(tickClocks, 1000);
  setInterval(() => localizeTimes(), 30000);   // keep "3 min ago" honest on long-open pages

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  // Small surface for templates/tests; not required by the pages themselves.
  window.Distillery = { localizeTimes, renderCharts, initLive, formatDuration, applyJob };
})();
