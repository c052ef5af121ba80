// The dashboard: schedule form, live call table with its actions, timeline,
// alerts, the last hour's charts, queue and agent stats.
"use strict";

const GROUPS = {
  pending: ["scheduled", "dispatching"],
  waiting: ["initiated", "ringing", "routed"],
  live: ["active", "on_hold"],
  ended: ["completed", "failed", "busy", "no_answer", "abandoned", "canceled"],
};

const state = {
  calls: new Map(),      // id -> call, the ones the table may show
  order: [],             // ids, newest first
  nextCursor: null,
  selected: null,
  timeline: null,        // {call, events} of the selected call
  socket: null,
  alerts: [],            // the open alerts, newest first
  seq: null,             // the position of the last live message, to resume after
};

const $ = (id) => document.getElementById(id);

function passesFilters(call) {
  const group = $("filter-status").value;
  const queue = $("filter-queue").value;
  return (!group || GROUPS[group].includes(call.status)) && (!queue || call.queue_id === queue);
}

function counterparty(call) {
  return call.direction === "inbound" ? (call.from || call.to) : call.to;
}

function dueOrStarted(call) {
  return call.status === "scheduled" || call.status === "canceled"
    ? call.scheduled_at
    : call.initiated_at || call.scheduled_at || call.created_at;
}

/** A calling window as people read it: "09:00–20:00 mon,tue in America/New_York". */
function windowText(w) {
  const hours = `${w.start || "00:00"}–${w.end || "24:00"}`;
  const days = w.days ? w.days.join(",") : "any day";
  return `${hours} ${days} in ${w.time_zone || "the callee's time zone"}`;
}

function row(call) {
  const number = counterparty(call);
  return el("tr", { "data-id": call.id, class: call.id === state.selected ? "selected" : "", onclick: () => select(call.id) },
    el("td", {}, number ? el("a", { href: `/calls/${encodeURIComponent(number)}`, onclick: (e) => e.stopPropagation() }, number) : "—",
      el("span", { class: "direction" }, call.direction === "inbound" ? " ↘" : " ↗")),
    el("td", { class: "name" }, el("span", { class: "text", title: call.customer_name || undefined }, call.customer_name || "—"),
      call.series_id ? el("span", { class: "series", title: `call ${call.occurrence} of series ${call.series_id}` }, ` ↻${call.occurrence}`) : "",
      call.calling_window ? el("span", { class: "window", title: `rings ${windowText(call.calling_window)}` }, " ◷") : "",
      call.redial_of ? el("span", { class: "redial-mark", title: `attempt ${call.redial_attempt}, redials ${call.redial_of}` }, ` ↺${call.redial_attempt}`) : ""),
    el("td", { class: "status" }, statusBadge(call.status),
      call.redialed_as ? el("span", { class: "redial-mark redialled", title: `redialled as ${call.redialed_as}` }, " → redialled") : ""),
    el("td", {}, formatTime(dueOrStarted(call))),
    el("td", { class: "duration" }, formatSeconds(call.duration_seconds)),
    el("td", { class: "flags" }, call.flags.map((f) => el("span", { class: "flag" }, f.replace("_", " ")))),
    el("td", { class: "actions" }, callActions(call)));
}

/** Reschedule and Cancel, for a call still to be placed; nothing otherwise. */
function callActions(call) {
  if (call.status !== "scheduled") return [];
  const action = (name, label, extra) => el("button", {
    type: "button", class: `row-action ${extra}`, "data-action": name, title: `${label} this call`,
    onclick: (e) => { e.stopPropagation(); openCallDialog(name, call.id); },
  }, label);
  return [action("reschedule", "Reschedule", ""), action("cancel", "Cancel", "danger")];
}

/** `t` as a datetime-local input's value, in the browser's zone. */
function localInputValue(t) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
}

/** The call the dialog acts on, and how: {id, action}. */
let dialogFor = null;

/** Asks before canceling, or for the new time, in one dialog; the server's answer decides. */
function openCallDialog(action, id) {
  const call = state.calls.get(id) || (state.timeline && state.timeline.call);
  if (!call) return;
  dialogFor = { id, action };
  const who = `${counterparty(call) || call.id}${call.customer_name ? ` (${call.customer_name})` : ""}`;
  $("call-dialog-title").textContent = action === "cancel"
    ? `Cancel the call to ${who}, due ${formatTime(call.scheduled_at)}?`
    : `Move the call to ${who}, due ${formatTime(call.scheduled_at)}, to:`;
  $("call-dialog-when").hidden = action !== "reschedule";
  $("call-dialog-at").value = localInputValue(new Date(call.scheduled_at));
  $("call-dialog-zone").textContent = `(${BROWSER_ZONE} time)`;
  $("call-dialog-error").textContent = "";
  const confirm = $("call-dialog-confirm");
  confirm.textContent = action === "cancel" ? "Cancel call" : "Reschedule";
  confirm.className = action === "cancel" ? "danger" : "";
  confirm.disabled = false;
  $("call-dialog").showModal();
  (action === "cancel" ? confirm : $("call-dialog-at")).focus();
}

async function confirmCallDialog(event) {
  event.preventDefault();
  if (!dialogFor) return;
  const { id, action } = dialogFor;
  const error = $("call-dialog-error");
  error.textContent = "";
  const path = `/api/calls/${encodeURIComponent(id)}`;
  let request;
  if (action === "cancel") {
    request = [`${path}/cancel`, { method: "POST" }];
  } else {
    const at = new Date($("call-dialog-at").value);
    if (Number.isNaN(at.getTime())) { error.textContent = "Enter the new date and time."; return; }
    request = [path, { method: "PATCH", body: { scheduled_at: at.toISOString() } }];
  }
  const confirm = $("call-dialog-confirm");
  confirm.disabled = true;
  try {
    const call = await api(...request);
    dialogFor = null;
    $("call-dialog").close();
    upsert(call);
    renderCalls();
    if (state.selected === call.id) await select(call.id);
  } catch (failure) {
    error.textContent = failure.message;
    confirm.disabled = false;
  }
}

function renderCalls() {
  const body = document.querySelector("#calls tbody");
  const visible = state.order.map((id) => state.calls.get(id)).filter(passesFilters);
  // A row shows the call as of its version, as selected or not; the day
  // matters too, since a time is shown with its date only when not today.
  const today = new Date().toDateString();
  renderKeyed(body, visible, (call) => `${call.id}|${call.version}|${call.id === state.selected}|${today}`, row);
  $("calls-empty").hidden = visible.length > 0;
  $("calls-more").hidden = !state.nextCursor;
}

/** The table keeps at most this many calls; older ones page in with "Load more". */
const MAX_ROWS = 1000;

function newestFirst(a, b) {
  const ca = state.calls.get(a), cb = state.calls.get(b);
  return new Date(cb.created_at) - new Date(ca.created_at) || (b < a ? -1 : b > a ? 1 : 0);
}

function upsert(call) {
  const known = state.calls.get(call.id);
  if (known && known.version > call.version) return; // an older copy
  state.calls.set(call.id, call);
  if (known) return;
  state.order.push(call.id);
  state.order.sort(newestFirst);
  for (const dropped of state.order.splice(MAX_ROWS)) state.calls.delete(dropped);
}

/** Renders at most once a frame, however many updates arrive. */
let renderPending = false;
function renderSoon() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => { renderPending = false; renderCalls(); });
}

async function loadCalls(more = false) {
  const params = new URLSearchParams({ limit: "50" });
  const group = $("filter-status").value, queue = $("filter-queue").value;
  if (group) params.set("status", group);
  if (queue) params.set("queue", queue);
  if (more && state.nextCursor) params.set("cursor", state.nextCursor);
  const page = await api(`/api/calls?${params}`);
  if (!more) { state.calls.clear(); state.order = []; }
  for (const call of page.calls) upsert(call);
  state.nextCursor = page.next_cursor;
  renderCalls();
}

async function select(id) {
  state.selected = id;
  renderCalls();
  const call = state.calls.get(id);
  const timeline = $("timeline");
  timeline.replaceChildren(el("p", { class: "empty" }, "Loading…"));
  try {
    const path = `/api/calls/${encodeURIComponent(id)}`;
    const { events } = await api(`${path}/events`);
    // A call that is one of several attempts: list them all, and the outcome.
    const linked = call && (call.redial_of || call.redialed_as);
    const attempts = linked ? await api(`${path}/attempts`) : null;
    state.timeline = { call: state.calls.get(id) || call, events, attempts };
    renderTimeline(state.timeline.call, events, attempts);
  } catch (error) {
    timeline.replaceChildren(el("p", { class: "error" }, error.message));
  }
}

/** "Attempts: 1 busy · 2 no answer · 3 completed — final outcome: completed". */
function attemptsLine(attempts) {
  const items = attempts.attempts.flatMap((c, i) => [
    i ? " · " : "",
    el("button", { type: "button", title: c.id, onclick: () => select(c.id) }, `${c.redial_attempt} ${c.status.replace("_", " ")}`),
  ]);
  const outcome = attempts.outcome
    ? `final outcome: ${attempts.outcome.replace("_", " ")}`
    : "an attempt is still to come";
  return el("p", { class: "attempts", id: "attempts" }, "Attempts: ", ...items, ` — ${outcome}`);
}

/** Whether a changed call is one of the attempts shown, or the selected call's new redial. */
function touchesShownAttempts(call) {
  const shown = state.timeline && state.timeline.attempts;
  if (shown) return shown.attempts.some((c) => c.id === call.id || c.id === call.redial_of);
  return call.id === state.selected && Boolean(call.redialed_as);
}

/** Reads the selected call's attempts again, keeping its timeline. */
async function refreshAttempts() {
  const timeline = state.timeline;
  if (!timeline) return;
  const attempts = await api(`/api/calls/${encodeURIComponent(timeline.call.id)}/attempts`);
  if (!state.timeline || state.timeline.call.id !== timeline.call.id) return;
  state.timeline = { ...state.timeline, attempts };
  renderTimeline(state.timeline.call, state.timeline.events, attempts);
}

function renderTimeline(call, events, attempts) {
  const first = events.length ? new Date(events[0].timestamp) : null;
  const items = events.map((event) => {
    const after = first ? (new Date(event.timestamp) - first) / 1000 : 0;
    const details = Object.entries(event.metadata).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
    return el("li", { class: `event source-${event.source}`, "data-type": event.type },
      el("span", { class: "when" }, `+${formatSeconds(after)}`),
      el("span", { class: "what" }, event.type.replaceAll("_", " ")),
      el("span", { class: "who" }, event.source),
      details ? el("span", { class: "details" }, details) : null);
  });
  const actions = callActions(call);
  $("timeline").replaceChildren(
    el("p", { class: "timeline-head" }, statusBadge(call.status), " ", counterparty(call) || "", " · ", el("code", {}, call.id)),
    actions.length ? el("p", { class: "timeline-actions" }, actions) : "",
    attempts && attempts.attempts.length > 1 ? attemptsLine(attempts) : "",
    el("ol", { class: "events", id: "timeline-events" }, items));
}

/** Live: the selected call's new events arrive with its change. */
function appendToTimeline(call, events) {
  if (!state.timeline || state.timeline.call.id !== call.id) return;
  const known = new Set(state.timeline.events.map((e) => e.id));
  state.timeline = { ...state.timeline, call, events: state.timeline.events.concat(events.filter((e) => !known.has(e.id))) };
  renderTimeline(state.timeline.call, state.timeline.events, state.timeline.attempts);
}

/** The open alerts, newest first, as the server keeps them. */
async function loadAlerts() {
  const page = await api("/api/alerts?open=true&limit=50");
  state.alerts = page.alerts;
  renderAlerts();
}

function renderAlerts() {
  const alerts = state.alerts || [];
  renderKeyed($("alerts"), alerts, (alert) => `${alert.id}|${alert.acknowledged_at || ""}`, (alert) => el("li", { class: `alert alert-${alert.kind}`, "data-alert": alert.id },
    el("strong", {}, alert.kind.replaceAll("_", " ")),
    ` on call ${alert.call_id.slice(0, 13)}${alert.queue_id ? ` in ${alert.queue_id}` : ""}: `,
    `${formatSeconds(alert.seconds)} (limit ${formatSeconds(alert.threshold_seconds)})`,
    el("span", { class: "when" }, formatTime(alert.raised_at)),
    alert.acknowledged_at
      ? el("span", { class: "acked" }, ` · acknowledged by ${alert.acknowledged_by}`)
      : el("button", { type: "button", class: "ack", onclick: () => acknowledge(alert.id) }, "Acknowledge")));
  $("alerts-empty").hidden = alerts.length > 0;
}

async function acknowledge(id) {
  try {
    const alert = await api(`/api/alerts/${encodeURIComponent(id)}/ack`, { method: "POST", body: { by: "dashboard" } });
    state.alerts = (state.alerts || []).map((a) => (a.id === alert.id ? alert : a));
    renderAlerts();
  } catch (error) {
    showError(error);
  }
}

/** Whether a change may have acknowledged or closed a shown alert. */
function touchesAlerts(call, events) {
  const shown = (state.alerts || []).some((a) => a.call_id === call.id);
  return shown && events.some((e) => e.type !== "call_flagged");
}

async function loadQueues() {
  const { queues } = await api("/api/queues");
  for (const select of [$("queue_id"), $("filter-queue")]) {
    const chosen = select.value;
    const first = select.options[0];
    select.replaceChildren(first, ...queues.map((q) => el("option", { value: q.id }, q.id)));
    select.value = chosen;
  }
}

async function loadStats() {
  const stats = await api("/api/stats");
  document.querySelector("#stats tbody").replaceChildren(...stats.queues.map((q) => el("tr", { "data-queue": q.queue_id },
    el("td", {}, q.queue_id), el("td", {}, q.offered), el("td", {}, q.answered), el("td", {}, q.abandoned),
    el("td", {}, q.service_level === null ? "—" : `${Math.round(q.service_level * 100)}%`),
    el("td", {}, formatSeconds(q.average_speed_of_answer)),
    el("td", {}, formatSeconds(q.average_hold_seconds)))));
  $("stats-empty").hidden = stats.queues.length > 0;
  document.querySelector("#agents tbody").replaceChildren(...stats.agents.map((a) => el("tr", { "data-agent": a.agent_id },
    el("td", {}, a.agent_id), el("td", {}, a.answered),
    el("td", {}, formatSeconds(a.average_wait_seconds)),
    el("td", { class: "talk" }, formatSeconds(a.average_talk_seconds)),
    el("td", {}, formatSeconds(a.hold_seconds)), el("td", {}, a.reroutes))));
  $("agents-empty").hidden = stats.agents.length > 0;
}

/** Shows whether calls are being placed (GET /api/dispatch's answer). */
function renderDispatch(dispatch) {
  const box = $("dispatch");
  box.dataset.state = dispatch.paused ? "paused" : "running";
  const every = dispatch.pauses.find((p) => p.queue_id === null);
  $("dispatch-state").textContent = dispatch.paused
    ? `dispatch paused${every.until ? ` until ${formatTime(every.until)}` : ""}`
    : "dispatching";
  const queues = dispatch.pauses.filter((p) => p.queue_id !== null);
  $("dispatch-queues").textContent = queues.length
    ? `held: ${queues.map((p) => `${p.queue_id}${p.until ? ` until ${formatTime(p.until)}` : ""}`).join(", ")}`
    : "";
  const toggle = $("dispatch-toggle");
  toggle.textContent = dispatch.paused ? "Resume" : "Pause all";
  toggle.disabled = false;
}

async function loadDispatch() {
  renderDispatch(await api("/api/dispatch"));
}

/** The switch: pauses every call until resumed, or resumes. */
async function toggleDispatch() {
  const toggle = $("dispatch-toggle");
  const action = $("dispatch").dataset.state === "paused" ? "resume" : "pause";
  toggle.disabled = true;
  try {
    renderDispatch(await api(`/api/dispatch/${action}`, { method: "POST" }));
  } catch (error) {
    toggle.disabled = false;
    showError(error);
  }
}

/** Pauses asked elsewhere (another page, `calls pause`) show within this long. */
const DISPATCH_REFRESH_MS = 10000;

/** The charts' hour, as GET /api/stats/activity answers it. */
async function loadActivity() {
  const { minutes } = await api("/api/stats/activity?minutes=60");
  drawOutcomes($("outcome-chart"), minutes);
  drawLateness($("lateness-chart"), minutes);
  $("outcome-totals").replaceChildren(...outcomeLegend(minutes));
  $("lateness-totals").replaceChildren(...latenessLegend(minutes));
  $("charts-updated").textContent = `updated ${formatTime(new Date().toISOString())}`;
}

/** The charts follow changes at most once a second, and are read again every 30 s as the hour moves on. */
const ACTIVITY_REFRESH_MS = 30000;
let activityTimer = null;
function refreshActivitySoon() {
  if (activityTimer) return;
  activityTimer = setTimeout(() => { activityTimer = null; loadActivity().catch(() => {}); }, 1000);
}

/** Whether a change ended a call or placed one: what the charts count. */
function movesActivity(call, events) {
  return GROUPS.ended.includes(call.status) || events.some((e) => e.type === "call_initiated");
}

let statsTimer = null;
function refreshStatsSoon() {
  clearTimeout(statsTimer);
  statsTimer = setTimeout(() => loadStats().catch(() => {}), 500);
}

/** Reloads everything the live stream keeps up to date. */
function reloadAll() {
  loadCalls().catch(showError);
  loadDispatch().catch(() => {});
  loadAlerts().catch(() => {});
  loadActivity().catch(() => {});
}

/**
 * Follows the live stream. The first connection loads the page's state; a
 * reconnection (the network dropped, the server restarted) resumes after
 * the last message seen, so the server sends what happened meanwhile, and
 * reloads only when told to (`reload`: too far behind).
 */
function connect() {
  const status = $("connection");
  const socket = new WebSocket(liveUrl(state.seq));
  state.socket = socket;
  socket.onopen = () => {
    status.textContent = "live";
    status.dataset.state = "live";
    loadDispatch().catch(() => {}); // pauses are not in the audit log
  };
  socket.onmessage = (message) => {
    const update = JSON.parse(message.data);
    const resumed = state.seq !== null;
    state.seq = update.seq;
    if (update.type === "hello") {
      if (!resumed) reloadAll(); // the state as of the stream's start
    } else if (update.type === "reload") {
      reloadAll();
    } else if (update.type === "call_changed") {
      upsert(update.call);
      renderSoon();
      if (update.call.id === state.selected) appendToTimeline(update.call, update.events);
      if (touchesShownAttempts(update.call)) refreshAttempts().catch(() => {});
      if (update.call.queue_id || update.call.agent_id) refreshStatsSoon();
      if (movesActivity(update.call, update.events)) refreshActivitySoon();
      if (touchesAlerts(update.call, update.events)) loadAlerts().catch(() => {});
    } else if (update.type === "alert") {
      loadAlerts().catch(() => {});
    }
  };
  socket.onclose = (event) => {
    status.textContent = event.reason ? `reconnecting (${event.reason})` : "reconnecting…";
    status.dataset.state = "offline";
    setTimeout(connect, 1500);
  };
}

function showError(error) {
  $("schedule-result").textContent = error.message;
  $("schedule-result").className = "result error";
}

function clearFieldErrors() {
  for (const p of document.querySelectorAll(".field-error")) p.textContent = "";
  for (const input of document.querySelectorAll("#schedule-form [aria-invalid]")) input.removeAttribute("aria-invalid");
}

function fieldError(field, message) {
  const target = document.querySelector(`.field-error[data-for="${field}"]`);
  if (!target) return false;
  target.textContent = message;
  $(field)?.setAttribute("aria-invalid", "true");
  return true;
}

/** The request the form last sent and its idempotency key, until it succeeds. */
let pendingSchedule = null;

/** A random key; crypto.randomUUID needs a secure context, getRandomValues does not. */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The zone the browser is in, which a repeat's times are read in. */
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/**
 * The form's `recurrence`: null when the call does not repeat, false when
 * the form is wrong (the error is shown). The presets repeat at the
 * minute and hour of `at`, read in the browser's zone.
 */
function recurrenceOf(form, at) {
  const repeat = form.get("repeat");
  if (!repeat) return null;
  const time = `${at.getMinutes()} ${at.getHours()}`;
  const cron = {
    daily: `${time} * * *`,
    weekdays: `${time} * * MON-FRI`,
    weekly: `${time} * * ${WEEKDAYS[at.getDay()]}`,
    cron: form.get("cron").trim(),
  }[repeat];
  if (!cron) {
    fieldError("recurrence.cron", "Enter a cron expression, such as 0 9 * * MON-FRI.");
    return false;
  }
  const recurrence = { cron, time_zone: BROWSER_ZONE };
  const count = form.get("repeat_count").trim();
  if (count) recurrence.count = Number(count);
  return recurrence;
}

function showRepeatFields() {
  const repeat = $("repeat").value;
  $("cron").hidden = repeat !== "cron";
  for (const field of document.querySelectorAll(".repeat-only")) field.hidden = !repeat;
}

async function schedule(event) {
  event.preventDefault();
  clearFieldErrors();
  const result = $("schedule-result");
  // Cleared at once, so what the last request said never passes for this one's answer.
  result.textContent = "";
  result.className = "result";
  const form = new FormData(event.target);
  const body = { phone_number: form.get("phone_number").trim() };
  if (!body.phone_number) {
    fieldError("phone_number", "Enter the number to call, starting with + and the country code.");
    return;
  }
  const when = form.get("scheduled_at");
  if (when) {
    const t = new Date(when);
    if (Number.isNaN(t.getTime())) { fieldError("scheduled_at", "Not a date and time."); return; }
    body.scheduled_at = t.toISOString();
  }
  for (const name of ["customer_name", "workflow", "queue_id"]) {
    const value = form.get(name).trim();
    if (value) body[name] = value;
  }
  const recurrence = recurrenceOf(form, when ? new Date(when) : new Date());
  if (recurrence === false) return;
  if (recurrence) body.recurrence = recurrence;
  const window = {};
  if (form.get("window_start")) window.start = form.get("window_start");
  if (form.get("window_end")) window.end = form.get("window_end");
  if (form.get("window_days")) window.days = [form.get("window_days")];
  if (Object.keys(window).length) body.calling_window = window;
  const redialOn = form.getAll("redial_on");
  if (redialOn.length) {
    body.redial = { on: redialOn, max_attempts: Number(form.get("redial_max")), delay: form.get("redial_delay").trim() };
  }
  // One key per request: pressing Schedule again after an answer was lost
  // (a dropped connection, a timeout) sends the same key, so the server
  // answers the call it made instead of making a second one.
  const text = JSON.stringify(body);
  if (!pendingSchedule || pendingSchedule.text !== text) pendingSchedule = { text, key: newKey() };
  const button = $("schedule-submit");
  button.disabled = true;
  try {
    const headers = { "Idempotency-Key": pendingSchedule.key };
    const call = await api("/api/calls", { method: "POST", body, headers });
    pendingSchedule = null;
    upsert(call);
    renderCalls();
    result.textContent = call.series_id
      ? `Scheduled ${call.to} for ${formatTime(call.scheduled_at)}, the first of series ${call.series_id}.`
      : `Scheduled ${call.to} for ${formatTime(call.scheduled_at)}.`;
    // A due time outside the calling window moved to its opening: say so.
    const asked = body.scheduled_at ? new Date(body.scheduled_at) : new Date();
    if (call.calling_window && !call.series_id && new Date(call.scheduled_at) - asked > 1000) {
      result.textContent += ` It waits for its calling hours, ${windowText(call.calling_window)}.`;
    }
    result.className = "result ok";
    event.target.reset();
    showRepeatFields();
  } catch (error) {
    const field = error.field === "to" ? "phone_number" : error.field;
    if (!(field && fieldError(field, error.message))) showError(error);
  } finally {
    button.disabled = false;
  }
}

/** The do-not-call list as shown: its entries in number order, and where the next page starts. */
const dnc = { entries: [], next: null };

function renderDoNotCall() {
  $("dnc-list").replaceChildren(...dnc.entries.map((entry) => el("li", { "data-phone": entry.phone_number },
    el("span", {}, entry.phone_number),
    el("span", { class: "reason" }, entry.reason || ""),
    el("button", { type: "button", class: "link", title: `Take ${entry.phone_number} off the list`, onclick: () => removeDoNotCall(entry.phone_number) }, "remove"))));
  $("dnc-empty").hidden = dnc.entries.length > 0;
  $("dnc-more").hidden = !dnc.next;
}

async function loadDoNotCall(more = false) {
  const cursor = more && dnc.next ? `&cursor=${encodeURIComponent(dnc.next)}` : "";
  const page = await api(`/api/dnc?limit=100${cursor}`);
  dnc.entries = more ? dnc.entries.concat(page.entries) : page.entries;
  dnc.next = page.next_cursor;
  renderDoNotCall();
}

async function addDoNotCall(event) {
  event.preventDefault();
  const result = $("dnc-result");
  result.textContent = "";
  result.className = "result";
  const body = { phone_number: $("dnc-phone").value.trim() };
  const reason = $("dnc-reason").value.trim();
  if (reason) body.reason = reason;
  try {
    const entry = await api("/api/dnc", { method: "POST", body });
    if (!dnc.entries.some((e) => e.phone_number === entry.phone_number)) {
      dnc.entries = dnc.entries.concat([entry]).sort((a, b) => (a.phone_number < b.phone_number ? -1 : 1));
    }
    renderDoNotCall();
    result.textContent = `${entry.phone_number} will not be called.`;
    result.className = "result ok";
    event.target.reset();
  } catch (error) {
    result.textContent = error.message;
    result.className = "result error";
  }
}

async function removeDoNotCall(phone) {
  try {
    await api(`/api/dnc/${encodeURIComponent(phone)}`, { method: "DELETE" });
  } catch (error) {
    if (error.status !== 404) { showError(error); return; }
  }
  dnc.entries = dnc.entries.filter((e) => e.phone_number !== phone);
  renderDoNotCall();
}

async function start() {
  $("schedule-form").addEventListener("submit", schedule);
  $("repeat").addEventListener("change", showRepeatFields);
  $("repeat-zone").textContent = `(${BROWSER_ZONE} time)`;
  $("filter-status").addEventListener("change", () => loadCalls().catch(showError));
  $("filter-queue").addEventListener("change", () => loadCalls().catch(showError));
  $("calls-more").addEventListener("click", () => loadCalls(true).catch(showError));
  $("dispatch-toggle").addEventListener("click", toggleDispatch);
  $("dnc-form").addEventListener("submit", addDoNotCall);
  $("call-dialog-form").addEventListener("submit", confirmCallDialog);
  $("call-dialog-close").addEventListener("click", () => { dialogFor = null; $("call-dialog").close(); });
  $("dnc-more").addEventListener("click", () => loadDoNotCall(true).catch(showError));
  try {
    await loadQueues(); // asks for the key first when the server needs one
    await Promise.all([loadCalls(), loadStats(), loadDispatch(), loadDoNotCall(), loadAlerts(), loadActivity()]);
  } catch (error) {
    showError(error);
  }
  setInterval(() => loadDispatch().catch(() => {}), DISPATCH_REFRESH_MS);
  setInterval(() => loadActivity().catch(() => {}), ACTIVITY_REFRESH_MS);
  connect();
}

start();
