// The Customers view: LTV : CAC, the share of customers at risk and cohort curves by acquisition
// channel, from the plugin's /api/customers (same origin, Airflow's session cookie). Every number
// comes from the API as it is; the page only formats and draws.
"use strict";

const $ = (id) => document.getElementById(id);
const view = { currency: "USD", charts: {} };

function money(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat("en-US", {
    style: "currency", currency: view.currency, minimumFractionDigits: digits, maximumFractionDigits: digits,
  }).format(value);
}
const ratio = (value) => (value === null || value === undefined ? "–" : `${value.toFixed(2)}×`);
const share = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)} %`);
const count = (value) => (value === null || value === undefined ? "–"
  : new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 }).format(value));
// Customers split between channels (a fractional ACQUISITION_MODEL): one decimal always, so the column lines up.
const customers = (value) => (value === null || value === undefined ? "–"
  : new Intl.NumberFormat("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value));
const when = (iso) => (iso ? new Date(iso).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" }) : "–");

class ApiError extends Error {}

async function api(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
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

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function draw(id, config) {
  view.charts[id]?.destroy();
  view.charts[id] = new Chart($(id), config);
}

function heading(text) {
  return { display: true, text, align: "start", font: { size: 14, weight: "600" }, color: "#1f2933" };
}

function bars(id, channels, values, { title, yTitle, format }) {
  draw(id, {
    type: "bar",
    data: { labels: channels, datasets: [{ data: values, backgroundColor: channels.map(channelColour) }] },
    options: {
      plugins: { title: heading(title), legend: { display: false },
                 tooltip: { callbacks: { label: (ctx) => `${ctx.label}: ${format(ctx.parsed.y)}` } } },
      scales: { x: { title: { display: true, text: "Acquisition channel" } },
                y: { beginAtZero: true, title: { display: true, text: yTitle }, ticks: { callback: format } } },
    },
  });
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

const COLUMNS = [
  ["new_customers", "New customers", customers],
  ["spend", "Spend", (v) => money(v)],
  ["cac", "CAC", (v) => money(v, 2)],
  ["value_per_customer", null, (v) => money(v, 2)],  // label set from the realised age
  ["predicted_ltv_per_customer", "Predicted LTV / customer", (v) => money(v, 2)],
  ["ltv_to_cac", "LTV : CAC", ratio],
  ["share_at_risk", "At risk (p_alive < 0.5)", share],
];

function renderTable(data) {
  const table = $("channels");
  table.replaceChildren();
  table.createCaption().textContent = "By acquisition channel, over the cohorts shown";
  const head = table.createTHead().insertRow();
  const labels = ["Channel", ...COLUMNS.map(([, label]) => label || `Value at ${data.realised_age_days} days / customer`)];
  labels.forEach((label, i) => {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = label;
    if (i) th.className = "num";
    head.append(th);
  });
  const body = table.createTBody();
  for (const row of data.channels) {
    const tr = body.insertRow();
    const name = document.createElement("td");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = channelColour(row.channel);
    name.append(swatch, row.channel);
    tr.append(name, ...COLUMNS.map(([key, , format]) => cell(format(row[key]), "num")));
  }
}

// The ages (COHORT_AGES_DAYS) that no cohort shown is old enough for yet, in words; "" when all are reached.
function agesNotReached(points) {
  const reached = new Set(points.filter((p) => p.value_per_customer !== null).map((p) => p.age_days));
  const waiting = [...new Set(points.map((p) => p.age_days))].filter((age) => !reached.has(age)).sort((a, b) => a - b);
  if (!waiting.length || !reached.size) return "";
  const list = waiting.length > 1 ? `${waiting.slice(0, -1).join(", ")} or ${waiting.at(-1)}` : `${waiting[0]}`;
  return `No cohort shown is ${list} days old yet: those points appear once one is.`;
}

function renderCurves(data) {
  const byChannel = new Map();
  for (const point of data.cohort_curves) {
    if (!byChannel.has(point.channel)) byChannel.set(point.channel, []);
    if (point.value_per_customer !== null) byChannel.get(point.channel).push({ x: point.age_days, y: point.value_per_customer });
  }
  const ages = data.cohort_curves.map((p) => p.age_days);
  $("cohort-note").textContent = agesNotReached(data.cohort_curves);
  $("cohort-note").hidden = !$("cohort-note").textContent;
  draw("cohort-chart", {
    type: "line",
    data: {
      datasets: [...byChannel.entries()].filter(([, points]) => points.length).map(([channel, points]) => ({
        label: channel, data: points, borderColor: channelColour(channel), backgroundColor: channelColour(channel),
        pointRadius: 3, borderWidth: 2, tension: 0,
      })),
    },
    options: {
      plugins: { title: heading("Realised value per customer by age"), legend: { position: "bottom", labels: { boxWidth: 12 } },
                 tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}, ${ctx.parsed.x} days: ${money(ctx.parsed.y, 2)}` } } },
      // from day 0 to the oldest age configured, whichever ages the cohorts have reached
      scales: { x: { type: "linear", min: 0, suggestedMax: ages.length ? Math.max(...ages) : undefined,
                     title: { display: true, text: "Days since the first purchase" } },
                y: { beginAtZero: true, title: { display: true, text: `Value per customer (${view.currency})` },
                     ticks: { callback: (v) => money(v) } } },
    },
  });
}

function renderRun(data) {
  const run = data.last_run;
  const set = (id, text) => { $(id).textContent = text; };
  set("customers", run ? count(run.customers) : "none yet");
  set("as-of", run ? when(run.as_of) : "–");
  set("model", data.acquisition_model);
  $("pending").textContent = data.pending_parameters || "";
  $("pending").hidden = !data.pending_parameters;
  set("fit", !run ? "–" : run.fit.reason ? `no: ${run.fit.reason}` : "BG/NBD and Gamma-Gamma");
}

async function refresh() {
  const params = { start: $("start").value, end: $("end").value };
  document.body.dataset.state = "loading";
  showError("");
  history.replaceState(null, "", `?${new URLSearchParams(Object.entries(params).filter(([, v]) => v))}`);
  try {
    const data = await api("customers", params);
    view.currency = data.currency;
    $("currency").textContent = data.currency;
    for (const input of ["start", "end"]) {
      $(input).min = data.first_month || "";
      $(input).max = data.last_month || "";
    }
    renderRun(data);
    if (!data.last_run) {
      showError("No customer value yet: the tables are empty until marketing_customers has run.");
      document.body.dataset.state = "empty";
      return;
    }
    const channels = data.channels.map((r) => r.channel);
    const paid = data.channels.filter((r) => r.ltv_to_cac !== null);
    bars("ltv-cac-chart", paid.map((r) => r.channel), paid.map((r) => r.ltv_to_cac),
         { title: "LTV : CAC by acquisition channel", yTitle: "Predicted LTV ÷ CAC", format: ratio });
    bars("risk-chart", channels, data.channels.map((r) => r.share_at_risk),
         { title: "Share of customers at risk (p_alive < 0.5)", yTitle: "Share of customers", format: share });
    renderTable(data);
    renderCurves(data);
    document.body.dataset.state = "ready";
  } catch (error) {
    showError(error instanceof ApiError ? error.message : `Could not load the page: ${error.message}`);
    document.body.dataset.state = "error";
  }
}

if (typeof Chart === "undefined") {
  showError("The chart library is missing: run `python plugins/marketing_dashboard/build.py` and reload.");
  document.body.dataset.state = "error";
} else {
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  const url = new URLSearchParams(window.location.search);
  $("start").value = url.get("start") || "";
  $("end").value = url.get("end") || "";
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
  refresh();
}
