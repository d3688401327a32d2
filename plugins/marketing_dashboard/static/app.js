// The Marketing dashboard page: reads the plugin's JSON API (same origin, Airflow's session
// cookie) and draws with Chart.js. Every number shown comes from the API as it is; the page
// only formats, colours and sorts. Channel colours come from common.js (shared with the
// Customers view).
"use strict";

const OTHER = "Other channels";
const TOP_DAILY_CHANNELS = 5; // lines a reader can tell apart; the rest are summed as OTHER

const state = { options: null, charts: {}, campaigns: [], sort: { key: "spend", dir: "desc" } };
const $ = (id) => document.getElementById(id);


// ---- formatting ------------------------------------------------------------------------
function money(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat("en-US", {
    style: "currency", currency: state.options.currency,
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(value);
}
function moneyShort(value) {
  return new Intl.NumberFormat("en-US", {
    style: "currency", currency: state.options.currency, notation: "compact", maximumFractionDigits: 1,
  }).format(value);
}
const ratio = (value) => (value === null || value === undefined ? "–" : `${value.toFixed(2)}×`);
const count = (value) => new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 }).format(value);
// Credited conversions (fractions under the multi-touch models): always one decimal, so a column lines up.
const credited = (value) => new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 })
  .format(value);
const modelLabel = (model) => state.options.model_labels[model] || model;  // from the registry of models
function dayLabel(iso) {
  return new Date(`${iso}T00:00:00Z`).toLocaleDateString("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
}
function ago(iso) {
  if (!iso) return "";
  const minutes = Math.round((Date.now() - new Date(iso).getTime()) / 60000);
  if (minutes < 1) return "just now";
  if (minutes < 90) return `${minutes} min ago`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h ago`;
  return `${Math.round(minutes / 1440)} days ago`;
}
const when = (iso) => (iso ? new Date(iso).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" }) : "–");

// ---- API -------------------------------------------------------------------------------
class ApiError extends Error {}

async function api(path, params = {}) {
  const query = new URLSearchParams(params).toString();
  const response = await fetch(`api/${path}${query ? `?${query}` : ""}`, {
    credentials: "same-origin", headers: { Accept: "application/json" },
  });
  if (response.status === 401 || response.status === 403) {
    throw new ApiError("Your Airflow session has ended or does not allow this page: reload Airflow and log in again.");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(body.detail || `${path}: HTTP ${response.status}`);
  return body;
}

// A period without results: say so (and which days have results) instead of empty axes.
function showEmpty(message) {
  $("empty").textContent = message;
  $("empty").hidden = !message;
  if (message) {
    $("kpis").replaceChildren();
    document.body.dataset.state = "empty-range";
  }
}

const emptyPeriod = (f) => `No results between ${f.start} and ${f.end}: the marts hold ${state.options.first_date} to `
  + `${state.options.last_date}. Pick days in that range.`;

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// ---- charts ----------------------------------------------------------------------------
function configureCharts() {
  Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
  Chart.defaults.color = "#3e4c59";
  Chart.defaults.animation = false; // a dashboard is read, not watched
  Chart.defaults.maintainAspectRatio = false;
}

function draw(id, config) {
  state.charts[id]?.destroy();
  state.charts[id] = new Chart($(id), config);
}

function axis(title, format, extra = {}) {
  return { title: { display: true, text: title, font: { weight: "600" } }, ticks: { callback: format }, ...extra };
}

function title(text) {
  return { display: true, text, align: "start", font: { size: 14, weight: "600" }, color: "#1f2933" };
}

// Bars of `metric` by channel: one model → one bar per channel; several → a group per model,
// a bar per channel (so a channel keeps its colour), stacked for revenue, which adds up.
function drawByChannel(id, rows, models, channels, metric, { heading, yTitle, format, stacked }) {
  const value = (model, channel) => rows.find((r) => r.model === model && r.channel === channel)?.[metric] ?? null;
  const tooltip = { callbacks: { label: (ctx) => `${ctx.dataset.label || ctx.label}: ${format(ctx.parsed.y)}` } };
  if (models.length === 1) {
    draw(id, {
      type: "bar",
      data: {
        labels: channels,
        datasets: [{ label: modelLabel(models[0]), data: channels.map((c) => value(models[0], c)),
                     backgroundColor: channels.map(channelColour) }],
      },
      options: {
        plugins: { title: title(heading), legend: { display: false }, tooltip },
        scales: { x: axis("Channel", undefined, { ticks: {} }), y: axis(yTitle, format, { beginAtZero: true }) },
      },
    });
    return;
  }
  draw(id, {
    type: "bar",
    data: {
      labels: models.map(modelLabel),
      datasets: channels.map((c) => ({ label: c, data: models.map((m) => value(m, c)), backgroundColor: channelColour(c) })),
    },
    options: {
      plugins: { title: title(heading), legend: { position: "bottom", labels: { boxWidth: 12 } }, tooltip },
      scales: {
        x: axis("Attribution model", undefined, { ticks: {}, stacked }),
        y: axis(yTitle, format, { beginAtZero: true, stacked }),
      },
    },
  });
}

// The `top` channels with the most of `metric` over the period, and the rest summed as OTHER.
function topSeries(series, metric, top) {
  const size = (s) => s[metric].reduce((sum, v) => sum + Math.abs(v), 0);
  const ranked = [...series].sort((a, b) => size(b) - size(a) || a.channel.localeCompare(b.channel));
  if (ranked.length <= top + 1) return ranked;
  const rest = ranked.slice(top);
  const summed = rest[0][metric].map((_, i) => rest.reduce((sum, s) => sum + s[metric][i], 0));
  return [...ranked.slice(0, top), { channel: OTHER, [metric]: summed }];
}

// One line per channel (or the top channels and OTHER); returns the series drawn.
function drawDaily(id, daily, metric, order, heading, yTitle, top = null) {
  const rank = (channel) => (channel === OTHER ? order.length + 1 : order.includes(channel) ? order.indexOf(channel) : order.length);
  let series = daily.series.filter((s) => s[metric].some((v) => v !== 0));
  if (top) series = topSeries(series, metric, top);
  series = series.sort((a, b) => rank(a.channel) - rank(b.channel) || a.channel.localeCompare(b.channel));
  draw(id, {
    type: "line",
    data: {
      labels: daily.dates.map(dayLabel),
      datasets: series.map((s) => ({
        label: s.channel, data: s[metric], borderColor: channelColour(s.channel),
        backgroundColor: channelColour(s.channel), pointRadius: 2, borderWidth: 2, tension: 0,
      })),
    },
    options: {
      interaction: { mode: "index", intersect: false },
      plugins: {
        title: title(heading),
        legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${money(ctx.parsed.y)}` } },
      },
      scales: { x: axis("Date", undefined, { ticks: { maxTicksLimit: 12 } }), y: axis(yTitle, moneyShort, { beginAtZero: true }) },
    },
  });
  return series;
}

// ---- tables ----------------------------------------------------------------------------
function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function channelCell(channel) {
  const td = document.createElement("td");
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = channelColour(channel);
  td.append(swatch, channel);
  return td;
}

function header(table, columns, sortable) {
  const tr = table.createTHead().insertRow();
  for (const column of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    if (column.num) th.className = "num";
    if (sortable) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = column.label;
      button.addEventListener("click", () => sortCampaigns(column.key));
      th.append(button);
      th.dataset.key = column.key;
      if (state.sort.key === column.key) th.setAttribute("aria-sort", state.sort.dir === "asc" ? "ascending" : "descending");
    } else {
      th.textContent = column.label;
    }
    tr.append(th);
  }
}

// Channels × models: each cell the period's ROAS over its attributed revenue, so the
// comparison reads across a row.
function roasCell(row) {
  const td = cell(ratio(row?.roas ?? null), "num");
  const revenue = document.createElement("div");
  revenue.className = "detail";
  revenue.textContent = money(row?.attributed_revenue ?? 0);
  td.append(revenue);
  return td;
}

function renderComparison(data, channels) {
  const table = $("comparison");
  table.replaceChildren();
  const caption = table.createCaption();
  caption.textContent = "ROAS, and attributed revenue below it, by channel and model";
  header(table, [{ label: "Channel" }, { label: "Spend", num: true },
                 ...data.models.map((m) => ({ label: modelLabel(m), num: true }))], false);
  const body = table.createTBody();
  const find = (m, c) => data.rows.find((r) => r.model === m && r.channel === c);
  for (const channel of channels) {
    const tr = body.insertRow();
    tr.append(channelCell(channel), cell(money(find(data.models[0], channel)?.spend ?? 0), "num"));
    for (const m of data.models) tr.append(roasCell(find(m, channel)));
  }
  const foot = table.createTFoot().insertRow();
  const total = (m) => data.totals.find((t) => t.model === m);
  foot.append(cell("All channels"), cell(money(total(data.models[0])?.spend ?? 0), "num"));
  for (const m of data.models) foot.append(roasCell(total(m)));
}

const CAMPAIGN_COLUMNS = [
  { key: "channel", label: "Channel" },
  { key: "campaign", label: "Campaign" },
  { key: "spend", label: "Spend", num: true, format: (v) => money(v) },
  { key: "attributed_conversions", label: "Attributed conversions", num: true, format: credited },
  { key: "attributed_revenue", label: "Attributed revenue", num: true, format: (v) => money(v) },
  { key: "roas", label: "ROAS", num: true, format: ratio },
  { key: "cpa", label: "CPA", num: true, format: (v) => money(v, 2) },
];

function sortCampaigns(key) {
  const { sort } = state;
  sort.dir = sort.key === key ? (sort.dir === "asc" ? "desc" : "asc") : (key === "channel" || key === "campaign" ? "asc" : "desc");
  sort.key = key;
  renderCampaigns();
}

function renderCampaigns() {
  const { key, dir } = state.sort;
  const sign = dir === "asc" ? 1 : -1;
  const rows = [...state.campaigns].sort((a, b) => {
    const x = a[key], y = b[key];
    if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1; // empty last
    if (y === null || y === undefined) return -1;
    return (typeof x === "string" ? x.localeCompare(y) : x - y) * sign;
  });
  const table = $("campaigns");
  table.replaceChildren();
  header(table, CAMPAIGN_COLUMNS, true);
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    tr.append(channelCell(row.channel));
    tr.append(row.campaign === null ? cell("(none)", "none") : cell(row.campaign));
    for (const column of CAMPAIGN_COLUMNS.slice(2)) tr.append(cell(column.format(row[column.key]), "num"));
  }
}

// ---- freshness and totals --------------------------------------------------------------
function setCard(id, value, detail) {
  const p = $(id);
  p.replaceChildren();
  const strong = document.createElement("span");
  strong.className = "value";
  strong.textContent = value;
  p.append(strong);
  if (detail) {
    const small = document.createElement("div");
    small.className = "detail";
    small.textContent = detail;
    p.append(small);
  }
}

// The UI shows this page in a sandboxed iframe that may not navigate the top window itself;
// a link clicked in the (same-origin) parent document opens the Airflow page as a whole.
function openInAirflow(event) {
  if (window.top === window) return;
  try {
    const doc = window.top.document;
    const link = doc.createElement("a");
    link.href = new URL(event.currentTarget.getAttribute("href"), window.location.href).href;
    doc.body.append(link);
    link.click();
    link.remove();
    event.preventDefault();
  } catch {
    // a parent on another origin: the link opens inside the frame
  }
}

const shortPath = (path) => path.split("/").slice(-2).join("/");

function renderFreshness(f) {
  const file = f.last_file;
  let detail = file ? `${file.feed}: ${shortPath(file.path)} · ${when(file.loaded_at)}` : "";
  const rejected = f.last_quarantined_file; // newer, but loaded nothing: named, never shown as "loaded"
  if (rejected) detail += `${detail ? " · " : ""}newer ${shortPath(rejected.path)} was wholly quarantined`;
  setCard("last-file", file ? ago(file.loaded_at) : "none yet", detail);
  const marts = f.marts || {};
  $("parameters").hidden = !marts.parameters;
  $("parameters").textContent = marts.parameters ? `Model parameters of these marts: ${marts.parameters}.` : "";
  $("stale").hidden = !marts.stale;
  $("stale").textContent = marts.stale
    ? `The marts are older than the last load: data loaded up to ${when(marts.last_load_at)} is not all in these `
      + `numbers yet (the last attribution run started ${when(marts.last_run_started_at)}). They catch up when `
      + "marketing_attribution runs: check that it is not paused."
    : "";
  const run = f.last_attribution_run;
  setCard("last-run", run ? ago(run.finished_at || run.started_at) : "none yet",
          run ? `#${run.run_id} ${run.mode} · ${run.finished_at ? `finished ${when(run.finished_at)}` : "running"}` : "");
  const q = f.quarantine;
  setCard("quarantine", count(q.rows), q.latest ? `newest ${when(q.latest)}` : "");
  const p = $("dag-runs");
  p.replaceChildren();
  for (const [dagId, href] of Object.entries(f.dag_runs)) {
    const a = document.createElement("a");
    a.href = href;
    a.textContent = dagId;
    a.addEventListener("click", openInAirflow);
    const div = document.createElement("div");
    div.append(a);
    p.append(div);
  }
}

function renderKpis(data, model) {
  const total = data.totals.find((t) => t.model === model);
  const kpis = $("kpis");
  kpis.replaceChildren();
  if (!total) return;
  // Totals over all channels are the same under every model (each conversion is credited in
  // full); only the split between channels moves, so paid-only ROAS is the model's figure.
  const paid = data.rows.filter((r) => r.model === model && r.spend > 0);
  const paidSpend = paid.reduce((sum, r) => sum + r.spend, 0);
  const paidRoas = paidSpend ? paid.reduce((sum, r) => sum + r.attributed_revenue, 0) / paidSpend : null;
  const items = [
    ["Spend", money(total.spend), "all channels"],
    ["Attributed revenue", money(total.attributed_revenue), "all channels, the same under every model"],
    ["Blended ROAS", ratio(total.roas), "all channels' revenue ÷ paid spend"],
    ["Paid-only ROAS", ratio(paidRoas), `${modelLabel(model)}: revenue credited to channels with spend`],
    ["Attributed conversions", count(total.attributed_conversions), "all channels"],
    ["Blended CPA", money(total.cpa, 2), "paid spend ÷ all conversions"],
  ];
  for (const [label, value, detail] of items) {
    const card = document.createElement("div");
    card.className = "card";
    const h = document.createElement("h3");
    h.textContent = label;
    const v = document.createElement("p");
    v.className = "value";
    v.textContent = value;
    const d = document.createElement("p");
    d.className = "detail";
    d.textContent = detail;
    card.append(h, v, d);
    kpis.append(card);
  }
}

// ---- the "Assists and paths" view ---------------------------------------------------------
const percent = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`);
const stepLabel = (step) => step.replaceAll("_", " ");

function renderAssists(data) {
  const rows = data.rows;
  const labels = rows.map((r) => r.channel);
  draw("assists-chart", {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: "Last-touch conversions", data: rows.map((r) => r.last_touch_conversions), backgroundColor: "#1f2933" },
        { label: "Assisted conversions", data: rows.map((r) => r.assisted_conversions),
          backgroundColor: labels.map(channelColour) },
      ],
    },
    options: {
      plugins: { title: title("Last-touch vs assisted conversions by channel"),
                 legend: { position: "bottom", labels: { boxWidth: 12 } } },
      scales: { x: axis("Channel", undefined, { ticks: {} }), y: axis("Conversions", count, { beginAtZero: true }) },
    },
  });
  const table = $("assists");
  table.replaceChildren();
  table.createCaption().textContent = `Conversions of type ${data.conversion_types.join(", ")}`;
  header(table, [{ label: "Channel" }, { label: "Last-touch", num: true }, { label: "Value", num: true },
                 { label: "Assisted", num: true }, { label: "Value", num: true },
                 { label: "Assisted ÷ last-touch", num: true }], false);
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    tr.append(channelCell(r.channel), cell(count(r.last_touch_conversions), "num"), cell(money(r.last_touch_value), "num"),
              cell(count(r.assisted_conversions), "num"), cell(money(r.assisted_value), "num"),
              cell(r.assisted_ratio === null ? "–" : r.assisted_ratio.toFixed(2), "num"));
  }
}

// The removal effects of the chosen period's Markov fit: a bar per channel, its value as the label.
function renderEffects(data) {
  const rows = data.rows;
  const labels = rows.map((r) => `${r.channel}: ${(r.removal_effect * 100).toFixed(1)}%`);
  const fit = rows.length ? ` (fit from ${rows[0].period_start})` : "";
  $("effects-title").textContent = `Data-driven (Markov) removal effects${fit}`;
  draw("effects-chart", {
    type: "bar",
    data: {
      labels,
      datasets: [{ label: "Removal effect", data: rows.map((r) => r.removal_effect),
                   backgroundColor: rows.map((r) => channelColour(r.channel)) }],
    },
    options: {
      indexAxis: "y",
      plugins: { title: title(`Removal effect by channel (${data.conversion_types.join(", ")})`), legend: { display: false },
                 tooltip: { callbacks: { label: (ctx) => `${(ctx.parsed.x * 100).toFixed(1)}% of conversions lost without it` } } },
      scales: { x: axis("Removal effect", (v) => `${Math.round(v * 100)}%`, { beginAtZero: true, max: 1 }),
                y: axis("Channel", undefined, { ticks: {} }) },
    },
  });
  const table = $("effects");
  table.replaceChildren();
  header(table, [{ label: "Channel" }, { label: "Removal effect", num: true }, { label: "Share", num: true }], false);
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    tr.append(channelCell(r.channel), cell(`${(r.removal_effect * 100).toFixed(1)}%`, "num"),
              cell(`${(r.share * 100).toFixed(1)}%`, "num"));
  }
  if (!rows.length) table.createCaption().textContent = "No Markov fit for this period yet.";
}

function renderPaths(data) {
  const table = $("paths");
  table.replaceChildren();
  header(table, [{ label: "Path" }, { label: "Conversions", num: true }, { label: "Revenue", num: true },
                 { label: "Avg. path length", num: true }, { label: "Avg. days to conversion", num: true }], false);
  const body = table.createTBody();
  for (const r of data.rows) {
    const tr = body.insertRow();
    tr.append(cell(r.path, "path"), cell(count(r.conversions), "num"), cell(money(r.revenue), "num"),
              cell(r.average_path_length.toFixed(1), "num"), cell(r.average_days_to_conversion.toFixed(1), "num"));
  }
}

function renderFunnel(data) {
  const table = $("funnel");
  table.replaceChildren();
  header(table, [{ label: "Channel" }, ...data.steps.map((s) => ({ label: stepLabel(s), num: true }))], false);
  const body = table.createTBody();
  for (const r of data.rows) {
    const tr = body.insertRow();
    tr.append(channelCell(r.channel));
    r.steps.forEach((s, i) => {
      const td = cell(credited(s.conversions), "num");
      if (i > 0) {
        const rate = document.createElement("span");
        rate.className = "rate";
        rate.textContent = `${percent(s.rate)} of ${stepLabel(data.steps[i - 1])}`;
        td.append(rate);
      }
      tr.append(td);
    });
  }
}

async function refreshAssists() {
  const f = filters();
  document.body.dataset.state = "loading";
  showError("");
  const type = $("conversion-type").value;
  const query = new URLSearchParams({ view: "assists", start: f.start, end: f.end, model: f.model });
  if (type) query.set("conversion_type", type);
  history.replaceState(null, "", `?${query}`);
  try {
    const period = { start: f.start, end: f.end };
    const typed = type ? { ...period, conversion_type: type } : period;
    const [assists, paths, funnel] = await Promise.all([
      api("assists", typed), api("paths", { ...typed, limit: 20 }), api("funnel", { ...period, model: f.model }),
    ]);
    if (!assists.rows.length && !paths.rows.length && !funnel.rows.length) {
      showEmpty(emptyPeriod(f));
      return;
    }
    showEmpty("");
    const range = `${f.start} to ${f.end}`;
    $("assists-title").textContent = `Assisted conversions by channel, ${range}`;
    $("paths-title").textContent = `Top conversion paths, ${range}`;
    $("funnel-title").textContent = `Funnel by channel, ${range} (${modelLabel(f.model)})`;
    renderAssists(assists);
    renderPaths(paths);
    renderFunnel(funnel);
    document.body.dataset.state = "ready";
  } catch (error) {
    showError(error instanceof ApiError ? error.message : `Could not load the dashboard: ${error.message}`);
    document.body.dataset.state = "error";
  }
}

function showView(view) {
  document.body.dataset.view = view;
  for (const a of document.querySelectorAll(".tabs a")) {
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

const refreshView = () => (document.body.dataset.view === "assists" ? refreshAssists() : refresh());

// ---- the page --------------------------------------------------------------------------
function filters() {
  return {
    start: $("start").value,
    end: $("end").value,
    model: $("model").value,
    compare: $("compare").checked,
  };
}

async function refresh() {
  const f = filters();
  document.body.dataset.state = "loading";
  showError("");
  const query = new URLSearchParams({ start: f.start, end: f.end, model: f.model });
  if (f.compare) query.set("compare", "1");
  history.replaceState(null, "", `?${query}`);
  try {
    const period = { start: f.start, end: f.end };
    const [byChannel, daily, campaigns, effects] = await Promise.all([
      api("channels", { ...period, model: f.compare ? "all" : f.model }),
      api("daily", { ...period, model: f.model }),
      api("campaigns", { ...period, model: f.model }),
      api("removal_effects", period),
    ]);
    if (!byChannel.rows.length && !daily.series.length) {
      showEmpty(emptyPeriod(f));
      return;
    }
    showEmpty("");
    // Channels by spend, then by revenue, so the colours line up with the largest first.
    const totals = new Map();
    for (const r of byChannel.rows) {
      const t = totals.get(r.channel) || { spend: 0, revenue: 0 };
      totals.set(r.channel, { spend: Math.max(t.spend, r.spend), revenue: t.revenue + r.attributed_revenue });
    }
    const channels = [...totals.keys()].sort((a, b) => totals.get(b).spend - totals.get(a).spend
      || totals.get(b).revenue - totals.get(a).revenue || a.localeCompare(b));
    const paid = channels.filter((c) => totals.get(c).spend > 0);
    const range = `${f.start} to ${f.end}`;
    const which = f.compare ? `all ${state.options.models.length} models` : modelLabel(f.model);
    $("channels-title").textContent = `ROAS and attributed revenue by channel, ${range} (${which})`;
    $("channels-note").textContent = "ROAS = attributed revenue ÷ spend over the whole period; channels without spend have no ROAS.";
    drawByChannel("roas-chart", byChannel.rows, byChannel.models, paid, "roas",
                  { heading: "ROAS by channel", yTitle: "ROAS (revenue ÷ spend)", format: ratio, stacked: false });
    drawByChannel("revenue-chart", byChannel.rows, byChannel.models, channels, "attributed_revenue",
                  { heading: "Attributed revenue by channel", yTitle: `Attributed revenue (${byChannel.currency})`,
                    format: (v) => (v === null ? "–" : moneyShort(v)), stacked: true });
    renderComparison(byChannel, channels);
    renderKpis(byChannel, f.model);
    renderEffects(effects);
    $("daily-title").textContent = `Spend and attributed revenue over time, ${range} (${modelLabel(f.model)})`;
    drawDaily("spend-daily-chart", daily, "spend", channels, "Spend per day by channel", `Spend (${daily.currency})`);
    const drawn = drawDaily("revenue-daily-chart", daily, "attributed_revenue", channels,
                            `Attributed revenue per day, top ${TOP_DAILY_CHANNELS} channels (${modelLabel(f.model)})`,
                            `Attributed revenue (${daily.currency})`, TOP_DAILY_CHANNELS);
    const refundDays = daily.dates.filter((_, i) => drawn.some((s) => s.attributed_revenue[i] < 0));
    $("daily-note").textContent = `Revenue: the ${TOP_DAILY_CHANNELS} channels with the most attributed revenue, `
      + `the others summed as "${OTHER}".` + (refundDays.length
      ? ` Below zero on ${refundDays.map(dayLabel).join(", ")}: refunds (negative revenue) credited to a channel `
        + "that day outweighed its new revenue."
      : "");
    $("campaigns-title").textContent = `Campaigns, ${range} (${modelLabel(f.model)})`;
    state.campaigns = campaigns.rows;
    renderCampaigns();
    document.body.dataset.state = "ready";
  } catch (error) {
    showError(error instanceof ApiError ? error.message : `Could not load the dashboard: ${error.message}`);
    document.body.dataset.state = "error";
  }
}

async function start() {
  try {
    const [options, freshness] = await Promise.all([api("options"), api("freshness")]);
    state.options = options;
    $("currency").textContent = options.currency;
    renderFreshness(freshness);
    for (const m of options.models) $("model").add(new Option(modelLabel(m), m));
    const url = new URLSearchParams(window.location.search);
    $("start").value = url.get("start") || options.default_start || "";
    $("end").value = url.get("end") || options.default_end || "";
    $("model").value = options.models.includes(url.get("model")) ? url.get("model") : "linear";
    $("compare").checked = url.get("compare") === "1";
    const final = options.final_conversion_types.join(", ");
    $("conversion-type").add(new Option(`final: ${final}`, ""));
    for (const t of options.conversion_types) {
      if (!(options.final_conversion_types.length === 1 && options.final_conversion_types[0] === t)) {
        $("conversion-type").add(new Option(t, t));
      }
    }
    if (options.conversion_types.includes(url.get("conversion_type"))) $("conversion-type").value = url.get("conversion_type");
    showView(url.get("view") === "assists" ? "assists" : "roas");
    for (const input of ["start", "end"]) {
      $(input).min = options.first_date || "";
      $(input).max = options.last_date || "";
    }
    if (!options.last_date) {
      showError("No attribution results yet: the marts are empty until marketing_attribution has run.");
      document.body.dataset.state = "empty";
      return;
    }
  } catch (error) {
    showError(error instanceof ApiError ? error.message : `Could not load the dashboard: ${error.message}`);
    document.body.dataset.state = "error";
    return;
  }
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); refreshView(); });
  $("compare").addEventListener("change", refresh);
  $("conversion-type").addEventListener("change", refreshAssists);
  for (const a of document.querySelectorAll(".tabs a")) {
    a.addEventListener("click", (event) => { event.preventDefault(); showView(a.dataset.view); refreshView(); });
  }
  await refreshView();
}

if (typeof Chart === "undefined") {
  showError("The chart library is missing: run `python plugins/marketing_dashboard/build.py` and reload.");
  document.body.dataset.state = "error";
} else {
  configureCharts();
  start();
}
