// The ocrpipe dashboard: polls the job API with the token typed in (kept in
// sessionStorage, sent as `Authorization: Bearer`, never in a URL).
"use strict";

const TOKEN_KEY = "ocrpipe.token";
const JOBS_EVERY_MS = 1000;
const BILLING_EVERY_MS = 10000;
const DETAILED_JOBS = 10; // the newest jobs whose progress is fetched every second
let selectedJob = null;
let usageChart = null;
let timers = [];

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? "-"));
  return node;
}

class Unauthorized extends Error {}

async function api(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const answer = await fetch(path, { headers: { Authorization: "Bearer " + token } });
  const body = await answer.json();
  if (answer.status === 401) throw new Unauthorized(body.message);
  if (!answer.ok) throw new Error(`${path}: ${body.message || answer.status}`);
  return body;
}

function percent(job) {
  if (job.status === "done") return 100;
  const pages = job.pages;
  if (pages && pages.done + pages.left > 0) return Math.floor((100 * pages.done) / (pages.done + pages.left));
  return 0;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "-";
}

function jobRow(job) {
  const pct = percent(job);
  const bar = el("span", { class: "bar" }, el("span", { style: `width: ${pct}%` }));
  const progress = el("td", { class: "progress" }, bar, el("span", { class: "pct" }, pct + " %"));
  const docs = job.documents;
  const row = el("tr", { class: `job status-${job.status}`, "data-job": job.id },
    el("td", {}, job.name, el("br"), el("small", { class: "muted" }, job.id)),
    el("td", {}, job.enterprise_project), el("td", { class: "status" }, job.status), progress,
    el("td", {}, job.pages && job.pages.per_second != null ? job.pages.per_second : "-"),
    el("td", {}, docs ? docs.failed : "-"), el("td", {}, when(job.submitted_at)));
  row.addEventListener("click", () => { selectedJob = job; showFailed(); });
  return row;
}

async function refreshJobs() {
  const listed = (await api("/v1/jobs?limit=30")).jobs;
  const detailed = await Promise.all(listed.map((job, n) =>
    n < DETAILED_JOBS || job.status === "running" ? api(job.links.self) : job));
  $("jobs").tBodies[0].replaceChildren(...detailed.map(jobRow));
  $("no-jobs").hidden = detailed.length > 0;
}

async function showFailed() {
  if (!selectedJob) return;
  const docs = (await api(selectedJob.links.documents + "?status=failed")).documents;
  $("failed-job").textContent = selectedJob.name;
  const rows = docs.map((d) => el("tr", {}, el("td", {}, d.key), el("td", {}, d.error), el("td", {}, when(d.updated_at))));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 3, class: "muted" }, "no failed documents")));
  $("failed").querySelector("tbody").replaceChildren(...rows);
  $("failed").hidden = false;
}

function drawUsage(usage) {
  const projects = [...new Set(usage.rows.map((r) => r.enterprise_project))].sort();
  $("usage-empty").hidden = projects.length > 0;
  if (usageChart) { usageChart.destroy(); usageChart = null; }
  if (!projects.length) return;
  const days = []; // every UTC day of the window, so that the x axis spans it
  for (let t = Date.parse(usage.since + "T00:00:00Z"); t <= Date.now(); t += 86400000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  const billed = new Map(usage.rows.map((r) => [r.enterprise_project + "|" + r.day, r.billed]));
  const xs = days.map((d) => Date.parse(d + "T00:00:00Z") / 1000);
  const data = [xs, ...projects.map((p) => days.map((d) => billed.get(p + "|" + d) || 0))];
  const colours = ["#2f80ed", "#eb5757", "#27ae60", "#f2994a", "#9b51e0", "#56ccf2"];
  const series = [{}, ...projects.map((p, n) => ({
    label: p, stroke: colours[n % colours.length], width: 2,
    points: { show: true, size: 7 },
  }))];
  const width = Math.max(320, $("usage-chart").clientWidth || 800);
  usageChart = new uPlot({ width, height: 240, series, scales: { x: { time: true } },
    axes: [{}, { label: "calls billed" }] }, data, $("usage-chart"));
}

function drawBilling(billing) {
  const note = $("billing-note");
  const body = $("packages").tBodies[0];
  if (!billing.configured) {
    body.replaceChildren();
    note.textContent = billing.message;
    note.hidden = false;
    $("alerts").replaceChildren(el("li", { class: "muted" }, "no billing file: no alerts"));
    return;
  }
  note.hidden = billing.packages.length > 0;
  note.textContent = "No packages in the billing file: every call is pay-per-use.";
  body.replaceChildren(...billing.packages.map((p) => el("tr", {},
    el("td", {}, p.id), el("td", {}, p.api), el("td", {}, p.enterprise_project || "all"),
    el("td", {}, p.remaining), el("td", {}, p.calls),
    el("td", { class: "state-" + p.state }, p.state), el("td", {}, p.expires))));
  const alerts = billing.alerts.map((a) => el("li", {},
    `${when(a.at)}: ${a.kind} — ${a.subject}` + (a.threshold != null ? ` (threshold ${a.threshold})` : "")));
  if (!alerts.length) alerts.push(el("li", { class: "muted" }, "no alerts"));
  $("alerts").replaceChildren(...alerts);
}

async function refreshBilling() {
  const [usage, billing] = await Promise.all([api("/v1/usage?days=30"), api("/v1/billing")]);
  drawUsage(usage);
  drawBilling(billing);
}

function every(ms, work) {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      await work();
      $("problem").hidden = true;
    } catch (err) {
      if (err instanceof Unauthorized) return signOut(err.message);
      $("problem").textContent = err.message;
      $("problem").hidden = false;
    } finally {
      busy = false;
    }
  };
  tick();
  timers.push(setInterval(tick, ms));
}

function start() {
  $("login").hidden = true;
  $("board").hidden = false;
  $("forget").hidden = false;
  every(JOBS_EVERY_MS, async () => { await refreshJobs(); await showFailed(); });
  every(BILLING_EVERY_MS, refreshBilling);
}

function signOut(message) {
  timers.forEach(clearInterval);
  timers = [];
  sessionStorage.removeItem(TOKEN_KEY);
  $("board").hidden = true;
  $("forget").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
  $("token").value = "";
  start();
});
$("forget").addEventListener("click", () => signOut(""));

if (sessionStorage.getItem(TOKEN_KEY)) start(); else signOut("");
