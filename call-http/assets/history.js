// /calls/{phone}: one number's history, Completed/Missed × Inbound/Outbound.
"use strict";

const phone = decodeURIComponent(location.pathname.replace(/^\/calls\//, ""));
let cursor = null;

function rangeParams() {
  const params = new URLSearchParams({ limit: "100" });
  const since = document.getElementById("since").value;
  const until = document.getElementById("until").value;
  if (since) params.set("since", since);
  if (until) params.set("until", until);
  return params;
}

async function load(more = false) {
  const params = rangeParams();
  if (more && cursor) params.set("cursor", cursor);
  const error = document.getElementById("history-error");
  error.textContent = "";
  try {
    const page = await api(`/api/phones/${encodeURIComponent(phone)}/history?${params}`);
    document.getElementById("history-title").textContent = `History of ${page.phone_number}`;
    document.title = `${page.phone_number} · callwork`;
    const body = document.querySelector("#history tbody");
    const rows = page.records.map((r) => el("tr", {},
      el("td", {}, formatTime(r.created_at)),
      el("td", { class: `type-${r.type.toLowerCase().replace(" ", "-")}` }, r.type),
      el("td", {}, r.counterparty ? el("a", { href: `/calls/${encodeURIComponent(r.counterparty)}` }, r.counterparty) : "—"),
      el("td", {}, formatSeconds(r.duration))));
    if (more) body.append(...rows); else body.replaceChildren(...rows);
    cursor = page.next_cursor;
    document.getElementById("history-more").hidden = !cursor;
    document.getElementById("history-empty").hidden = body.children.length > 0;
  } catch (e) {
    error.textContent = e.field ? `${e.field}: ${e.message}` : e.message;
  }
}

document.getElementById("range").addEventListener("submit", (event) => { event.preventDefault(); load(); });
document.getElementById("history-more").addEventListener("click", () => load(true));
load();
