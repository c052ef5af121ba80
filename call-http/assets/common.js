// Shared by the dashboard and the history page: API calls with the key,
// the key prompt, and formatting. No framework, no build step.
"use strict";

const KEY_STORAGE = "callwork.apiKey";

/** An API error carrying the server's {code, message, field}. */
class ApiError extends Error {
  constructor(status, detail) {
    super(detail.message || `HTTP ${status}`);
    this.status = status;
    this.code = detail.code;
    this.field = detail.field;
  }
}

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

/** Asks for the API key once; resolves when one was entered. */
function askForKey(message) {
  const dialog = document.getElementById("key-dialog");
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  document.getElementById("key-message").textContent = message;
  return new Promise((resolve) => {
    form.onsubmit = (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY_STORAGE, input.value.trim());
      dialog.close();
      resolve();
    };
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
}

/** fetch() on the API: JSON in and out, the key attached, 401 asks for it. */
async function api(path, options = {}) {
  for (;;) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (apiKey()) headers["X-API-Key"] = apiKey();
    const response = await fetch(path, {
      method: options.method || "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    if (response.status === 401) {
      await askForKey(apiKey() ? "That key was refused. Enter the server's API key:" : "This server needs an API key:");
      continue;
    }
    if (response.status === 204) return null;
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, body.error || {});
    return body;
  }
}

/**
 * The WebSocket URL of the live stream, with the key as a query parameter;
 * given the `seq` of the last message seen, it resumes after it.
 */
function liveUrl(after) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = new URLSearchParams();
  if (apiKey()) query.set("api_key", apiKey());
  if (after !== undefined && after !== null) query.set("after", String(after));
  const text = query.toString();
  return `${scheme}//${location.host}/api/ws${text ? `?${text}` : ""}`;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * Sets `parent`'s children to one element per item, in order, keeping the
 * element already shown for an item whose key has not changed. A live
 * update then never replaces a row or a button under the user's pointer
 * (a click whose press and release land on two different elements is lost).
 */
function renderKeyed(parent, items, keyOf, make) {
  const shown = new Map([...parent.children].map((node) => [node.dataset.key, node]));
  parent.replaceChildren(...items.map((item) => {
    const key = keyOf(item);
    const node = shown.get(key) || make(item);
    node.dataset.key = key;
    return node;
  }));
}

/** A time as the dashboard shows it: the time alone today, the year only when not this one. */
function formatTime(rfc3339) {
  if (!rfc3339) return "—";
  const t = new Date(rfc3339);
  const now = new Date();
  if (t.toDateString() === now.toDateString()) {
    return t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  const year = t.getFullYear() === now.getFullYear() ? undefined : "numeric";
  return t.toLocaleString([], { year, month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds * 10) / 10}s`;
  const whole = Math.round(seconds);
  const m = Math.floor(whole / 60), s = whole % 60;
  return m < 60 ? `${m}m${String(s).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function statusBadge(status) {
  return el("span", { class: `badge status-${status}`, "data-status": status }, status.replace("_", " "));
}
