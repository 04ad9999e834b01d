// flexledger web UI: a thin client of this organisation's REST API (same bearer token, same routes).
// No framework and no build step: views are functions that fetch JSON and build DOM nodes with el();
// text is only ever set as textContent, so ledger data cannot inject markup.
"use strict";

const TOKEN_KEY = "flexledger.token";
const state = { me: null, view: null, events: null, refreshTimer: null };

// --- small helpers ---------------------------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const child of children.flat(Infinity)) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

class ApiFailure extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.field ? `${e.field}: ${e.message}` : (e.message || `HTTP ${status}`));
    this.status = status;
    this.code = e.code;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    if (response.status === 401) { sessionStorage.removeItem(TOKEN_KEY); location.hash = "#/login"; }
    throw new ApiFailure(response.status, data);
  }
  return data;
}

function flash(message, kind = "ok") {
  const box = document.getElementById("flash");
  box.className = kind;
  box.textContent = message;
}

/** Run an action from a button or form: show its outcome, re-render the view. */
async function act(label, fn) {
  try {
    await fn();
    await render();  // before the outcome line: whoever waits for "done" sees the new view
    flash(`${label}: done`, "ok");
  } catch (err) {
    flash(`${label}: ${err.message}`, "error");
  }
}

function formValues(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (v !== "") out[k] = v;
  return out;
}

function field(label, name, attrs = {}) {
  return el("label", {}, label, el("input", { name, ...attrs }));
}

function isoIn(minutes) {
  return new Date(Date.now() + minutes * 60000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function table(columns, rows, empty = "none") {
  if (!rows.length) return el("p", { class: "empty" }, empty);
  return el("table", {},
    el("thead", {}, el("tr", {}, columns.map(([title]) => el("th", {}, title)))),
    el("tbody", {}, rows.map((row) => el("tr", { dataset: { id: row.id ?? "" } },
      columns.map(([, cell]) => el("td", {}, cell(row)))))));
}

const money = (cents) => (cents === null || cents === undefined ? "" : `${(cents / 100).toFixed(2)} €`);
const can = (...roles) => state.me && roles.includes(state.me.role);

// --- live updates: the REST service's SSE stream, read with fetch so that the bearer header is sent ------
async function followEvents() {
  if (state.events) state.events.abort();
  const controller = new AbortController();
  state.events = controller;
  const badge = document.getElementById("live");
  let last = null;
  while (!controller.signal.aborted && token()) {
    try {
      const headers = { Authorization: `Bearer ${token()}` };
      if (last) headers["Last-Event-ID"] = last;
      const response = await fetch("/events", { headers, signal: controller.signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      badge.className = "live on";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const chunk = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const id = chunk.split("\n").find((l) => l.startsWith("id: "));
          const name = chunk.split("\n").find((l) => l.startsWith("event: "));
          if (id) last = id.slice(4);
          if (name) onEvent(name.slice(7));
        }
      }
    } catch (err) {
      if (controller.signal.aborted) return;
    }
    badge.className = "live off";
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function onEvent(name) {
  document.getElementById("live").title = `last event: ${name}`;
  clearTimeout(state.refreshTimer);  // a burst of events re-renders once
  state.refreshTimer = setTimeout(() => render(true), 300);
}

// --- views -----------------------------------------------------------------------------------------------
function loginView() {
  const form = el("form", { id: "login", onsubmit: async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, form.token.value.trim());
    try {
      state.me = await api("GET", "/me");
      flash(`signed in as ${state.me.user} (${state.me.role}, ${state.me.msp_id})`);
      location.hash = "#/markets";
      followEvents();
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      flash(`sign-in: ${err.message}`, "error");
    }
  } },
  el("h1", {}, "Sign in"),
  el("p", {}, "Paste the API token your organisation's administrator gave you. It stays in this browser tab only."),
  field("API token", "token", { type: "password", autocomplete: "off", required: true, size: 60 }),
  el("button", { type: "submit" }, "Sign in"));
  return form;
}

async function marketsView() {
  const page = await api("GET", "/markets?page_size=200");
  const parts = [el("h1", {}, "Markets"), table([
    ["Market", (m) => el("a", { href: `#/market/${encodeURIComponent(m.id)}` }, m.id)],
    ["Kind", (m) => m.kind], ["Day", (m) => m.day], ["Feeder", (m) => m.feeder ?? "all"],
    ["Status", (m) => el("span", { class: `status ${m.status}` }, m.status)],
    ["Gate opens", (m) => m.gate_opens], ["Gate closes", (m) => m.gate_closes],
    ["Budget", (m) => money(m.budget_cents)],
  ], page.items, "no markets yet")];
  if (can("dso")) parts.push(flexRequestForm(), marketForm());
  if (can("aggregator")) parts.push(await devicesSection());
  return parts;
}

function flexRequestForm() {
  const form = el("form", { id: "flex-request", onsubmit: (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    act("request flexibility", () => api("POST", "/flexibility-requests", {
      id: v.id, day: v.day, gate_opens: v.gate_opens, gate_closes: v.gate_closes,
      budget_cents: Number(v.budget_cents), ...(v.feeder ? { feeder: v.feeder } : {}),
    }));
  } },
  el("h2", {}, "Request flexibility (opens a flexibility market)"),
  field("Id", "id", { required: true }), field("Day", "day", { value: new Date().toISOString().slice(0, 10) }),
  field("Gate opens", "gate_opens", { value: isoIn(-1) }), field("Gate closes", "gate_closes", { value: isoIn(30) }),
  field("Budget (cents)", "budget_cents", { type: "number", min: 0, value: 100000 }), field("Feeder", "feeder"),
  el("button", { type: "submit" }, "Request flexibility"));
  return form;
}

function marketForm() {
  const form = el("form", { id: "create-market", onsubmit: (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    act("create market", () => {
      const body = { id: v.id, kind: v.kind, day: v.day, gate_opens: v.gate_opens, gate_closes: v.gate_closes };
      if (v.feeder) body.feeder = v.feeder;
      for (const k of ["periods", "period_minutes"]) if (v[k]) body[k] = Number(v[k]);
      for (const k of ["rule", "priority", "pricing"]) if (v[k]) body[k] = v[k];
      if (v.rules) body.rules = JSON.parse(v.rules);
      return api("POST", "/markets", body);
    });
  } },
  el("h2", {}, "Create a capacity market"),
  field("Id", "id", { required: true }),
  el("label", {}, "Kind", el("select", { name: "kind" },
    el("option", { value: "capacity_day_ahead" }, "capacity, day ahead"),
    el("option", { value: "capacity_intraday" }, "capacity, intraday"))),
  field("Day", "day", { value: new Date().toISOString().slice(0, 10) }),
  field("Gate opens", "gate_opens", { value: isoIn(-1) }), field("Gate closes", "gate_closes", { value: isoIn(30) }),
  field("Feeder", "feeder"), field("Periods", "periods", { type: "number", min: 1 }),
  field("Period minutes", "period_minutes", { type: "number", min: 1 }), field("Rule", "rule"),
  el("label", {}, "Rules (JSON)", el("textarea", { name: "rules", rows: 2 })),
  el("button", { type: "submit" }, "Create market"));
  return form;
}

async function devicesSection() {
  const page = await api("GET", `/devices?manager=${encodeURIComponent(state.me.msp_id)}&status=active&page_size=200`);
  const form = el("form", { id: "register-device", onsubmit: (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    act("register device", () => api("POST", "/devices", {
      id: v.id, type: v.type, max_power_mw: Number(v.max_power_mw), min_power_mw: 0,
      ...(v.capacity_mwh ? { capacity_mwh: Number(v.capacity_mwh) } : {}), node: v.node, feeder: v.feeder,
    }));
  } },
  el("h3", {}, "Register a device"), field("Id", "id", { required: true }),
  el("label", {}, "Type", el("select", { name: "type" }, ["storage", "generation", "load"].map((t) => el("option", {}, t)))),
  field("Max power (MW)", "max_power_mw", { type: "number", step: "any", value: 0.05 }),
  field("Capacity (MWh)", "capacity_mwh", { type: "number", step: "any", value: 0.1 }),
  field("Node", "node", { required: true }), field("Feeder", "feeder", { required: true }),
  el("button", { type: "submit" }, "Register device"));
  return el("section", {}, el("h2", {}, "My devices"), table([
    ["Device", (d) => d.id], ["Type", (d) => d.type], ["Node", (d) => d.node], ["Feeder", (d) => d.feeder],
    ["Max MW", (d) => d.max_power_mw],
  ], page.items, "no devices"), form);
}

async function marketView(id) {
  const market = await api("GET", `/markets/${encodeURIComponent(id)}`);
  const bids = await api("GET", `/markets/${encodeURIComponent(id)}/bids?page_size=200`);
  const path = encodeURIComponent(id);
  const actions = el("div", { class: "actions" });
  if (can("dso")) {
    actions.append(
      el("button", { id: "close-gate", onclick: () => act("close gate", () => api("POST", `/markets/${path}/close-gate`)) }, "Close gate"),
      el("button", { id: "clear", onclick: () => act("clear", () => api("POST", `/markets/${path}/clear`)) }, "Clear market"));
  }
  if (can("settlement")) {
    actions.append(el("button", { id: "settle", onclick: () => act("settle", () => api("POST", `/markets/${path}/settle`)) }, "Settle"));
  }
  if (can("aggregator")) {
    actions.append(el("button", { id: "enrol", onclick: () => act("enrol", () => api("POST", `/markets/${path}/enrolment`)) }, "Enrol my organisation"));
  }
  const parts = [
    el("h1", {}, `Market ${market.id}`),
    el("dl", { class: "facts" }, [["Kind", market.kind], ["Status", market.status], ["Day", market.day],
      ["Feeder", market.feeder ?? "all"], ["Gate opens", market.gate_opens], ["Gate closes", market.gate_closes],
      ["Periods", `${market.periods} × ${market.period_minutes} min`], ["Rule", market.rule],
      ["Buyer", market.buyer], ["Budget", money(market.budget_cents)]].map(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "")])),
    el("p", {}, el("a", { href: `#/result/${path}` }, "Result"), " · ", el("a", { href: `#/audit/${path}` }, "Audit")),
    actions,
    el("h2", {}, `Bids (${bids.items.length}${bids.next_bookmark ? "+" : ""})`),
    table([
      ["Bid", (b) => b.id], ["Owner", (b) => b.owner], ["Device", (b) => b.device], ["Node", (b) => b.node],
      ["Offer", (b) => describeBid(b)], ["Status", (b) => el("span", { class: `status ${b.status}` }, b.status)],
      ["Placed", (b) => b.timestamp],
      ["", (b) => (can("aggregator") && b.owner === state.me.msp_id && b.status === "active"
        ? el("button", { class: "cancel", onclick: () => act("cancel bid", () => api("DELETE", `/bids/${encodeURIComponent(b.id)}`)) }, "Cancel")
        : "")],
    ], bids.items, "no bids"),
  ];
  if (can("aggregator") && market.status === "open") parts.push(await bidForm(market));
  return parts;
}

function describeBid(b) {
  if (b.products) {
    return Object.entries(b.products).map(([k, p]) => `${k}: ${p.quantity_mw.join("/")} MW @ ${p.price_eur_per_mwh} €/MWh`).join("; ");
  }
  return `${b.quantity_mw} MW @ ${b.price_eur_per_mwh} €/MWh, periods ${(b.periods || []).join(",")}`;
}

async function bidForm(market) {
  const devices = await api("GET", `/devices?manager=${encodeURIComponent(state.me.msp_id)}&status=active&page_size=200`);
  const flex = market.kind === "flexibility";
  const form = el("form", { id: "place-bid", onsubmit: (ev) => {
    ev.preventDefault();
    const v = formValues(form);
    const body = { id: v.id, market_id: market.id, device: v.device };
    if (flex) {
      const quantities = String(v.quantity_mw).split(/[ ,/]+/).filter(Boolean).map(Number);
      body.products = { [v.product]: { price_eur_per_mwh: Number(v.price_eur_per_mwh), quantity_mw: quantities } };
    } else {
      body.periods = String(v.periods).split(/[ ,]+/).filter(Boolean).map(Number);
      body.quantity_mw = Number(v.quantity_mw);
      body.price_eur_per_mwh = Number(v.price_eur_per_mwh);
    }
    act("place bid", () => api("POST", "/bids", body));
  } },
  el("h2", {}, "Place a bid"), field("Bid id", "id", { required: true }),
  el("label", {}, "Device", el("select", { name: "device" }, devices.items.map((d) => el("option", { value: d.id }, `${d.id} (node ${d.node})`)))),
  flex ? el("label", {}, "Product", el("select", { name: "product" }, ["p_up", "p_down", "q_up", "q_down"].map((p) => el("option", {}, p)))) : null,
  flex ? null : field("Periods (e.g. 0,1)", "periods", { value: "0" }),
  field(flex ? "Quantity per period (MW, e.g. 0.01/0.02)" : "Quantity (MW)", "quantity_mw", { required: true }),
  field("Price (€/MWh)", "price_eur_per_mwh", { type: "number", step: "any", required: true }),
  el("button", { type: "submit" }, "Place bid"));
  return form;
}

// The feeder drawn as a tree from the slack node: a node's colour is its dispatched flexibility, its label
// the DLMP (active power) of the chosen period; lines are the feeder's branches.
function feederGraph(network, result, bids, period) {
  const nodes = network.network.nodes.map((n) => n.id);
  const branches = network.network.branches;
  const slack = (network.network.nodes.find((n) => n.slack) || { id: nodes[0] }).id;
  const children = Object.fromEntries(nodes.map((n) => [n, []]));
  for (const b of branches) { children[b.from]?.push(b.to); children[b.to]?.push(b.from); }
  const depth = { [slack]: 0 }, order = [slack], lanes = {};
  for (let i = 0; i < order.length; i++) {
    for (const next of children[order[i]]) if (!(next in depth)) { depth[next] = depth[order[i]] + 1; order.push(next); }
  }
  let lane = 0;
  const place = (n) => {
    const kids = children[n].filter((k) => depth[k] === depth[n] + 1);
    if (!kids.length) { lanes[n] = lane++; return; }
    kids.forEach(place);
    lanes[n] = kids.reduce((s, k) => s + lanes[k], 0) / kids.length;
  };
  place(slack);
  const nodeOf = Object.fromEntries(bids.map((b) => [b.id, b.node]));
  const dispatched = Object.fromEntries(nodes.map((n) => [n, 0]));
  for (const [bid, products] of Object.entries(result.dispatch_mw || {})) {
    for (const [product, series] of Object.entries(products)) {
      const sign = product.endsWith("_down") ? -1 : 1;
      if (nodeOf[bid] in dispatched) dispatched[nodeOf[bid]] += sign * (series[period] || 0);
    }
  }
  const prices = ((result.dlmp_eur_per_mwh || {}).P) || {};
  const most = Math.max(1e-9, ...Object.values(dispatched).map(Math.abs));
  const x = (n) => 60 + depth[n] * 140, y = (n) => 50 + lanes[n] * 90;
  const width = 120 + Math.max(...Object.values(depth)) * 140, height = 100 + Math.max(0, lane - 1) * 90;
  const colour = (mw) => {
    const t = Math.min(1, Math.abs(mw) / most);
    return mw >= 0 ? `rgb(${Math.round(235 - 200 * t)},${Math.round(240 - 60 * t)},${Math.round(245 - 200 * t)})`
      : `rgb(${Math.round(245 - 10 * t)},${Math.round(240 - 150 * t)},${Math.round(235 - 180 * t)})`;
  };
  return svg("svg", { id: "feeder", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" },
    svg("title", {}, "Feeder: nodes coloured by dispatched flexibility, labelled with the DLMP"),
    branches.map((b) => svg("line", { x1: x(b.from), y1: y(b.from), x2: x(b.to), y2: y(b.to), class: "branch" })),
    nodes.map((n) => svg("g", { class: "node", "data-node": n },
      svg("circle", { cx: x(n), cy: y(n), r: 22, fill: colour(dispatched[n]) },
        svg("title", {}, `node ${n}: ${dispatched[n].toFixed(4)} MW dispatched`)),
      svg("text", { x: x(n), y: y(n) + 4, class: "id" }, n),
      svg("text", { x: x(n), y: y(n) + 38, class: "price" },
        prices[n] ? `${Number(prices[n][period]).toFixed(1)} €/MWh` : ""),
      dispatched[n] ? svg("text", { x: x(n), y: y(n) - 28, class: "mw" }, `${dispatched[n].toFixed(3)} MW`) : null)));
}

async function resultView(id) {
  const path = encodeURIComponent(id);
  const market = await api("GET", `/markets/${path}`);
  let cleared;
  try {
    cleared = await api("GET", `/markets/${path}/result`);
  } catch (err) {
    if (err.status >= 400 && err.status < 500) return [el("h1", {}, `Result of ${id}`), el("p", { class: "empty" }, `not cleared yet (${err.message})`)];
    throw err;
  }
  const result = cleared.result || {};
  const [network, bids] = await Promise.all([
    api("GET", `/network?version=${encodeURIComponent(market.network_version ?? "")}`),
    api("GET", `/markets/${path}/bids?page_size=500`),
  ]);
  const parts = [el("h1", {}, `Result of ${id}`),
    el("dl", { class: "facts" }, [["Mechanism", result.mechanism], ["Total cost", `${result.total_cost_eur} €`],
      ["Result hash", cleared.result_hash], ["Input hash", cleared.input_hash]].map(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "")]))];
  if (network && network.network && result.dispatch_mw) {
    const holder = el("div", { id: "graph" });
    const periods = result.periods || 1;
    const pick = el("select", { id: "period", onchange: () => holder.replaceChildren(feederGraph(network, result, bids.items, Number(pick.value))) },
      Array.from({ length: periods }, (_, p) => el("option", { value: p }, `period ${p}`)));
    holder.append(feederGraph(network, result, bids.items, 0));
    parts.push(el("h2", {}, "Feeder: dispatch and DLMP"), el("label", {}, "Period ", pick), holder,
      el("p", { class: "legend" }, "green: upward flexibility dispatched, orange: downward; label: DLMP of active power"));
  }
  parts.push(el("h2", {}, "Dispatch"), table([["Bid", (r) => r.id], ["Product", (r) => r.product], ["MW by period", (r) => r.mw]],
    Object.entries(result.dispatch_mw || {}).flatMap(([bid, products]) =>
      Object.entries(products).map(([product, mw]) => ({ id: bid, product, mw: mw.join(" / ") })))));
  parts.push(el("h2", {}, "Payments"), table([["Participant", (r) => r.id], ["Payment", (r) => `${r.eur} €`]],
    Object.entries(result.payments_eur || {}).map(([id, eur]) => ({ id, eur }))));
  try {
    const balance = await api("GET", "/balance");
    parts.push(el("h2", {}, "Balance of my organisation"), el("pre", { id: "balance" }, JSON.stringify(balance, null, 1)));
  } catch (err) { /* roles without funds have no balance */ }
  return parts;
}

async function auditView(id) {
  const path = encodeURIComponent(id);
  const parts = [el("h1", {}, `Audit of ${id}`)];
  if (!can("auditor", "dso")) return [...parts, el("p", {}, "only auditors and the DSO see the audit view")];
  const verdict = el("div", { id: "verdict" });
  parts.push(el("div", { class: "actions" },
    el("button", { id: "verify", onclick: async () => {
      try {
        const v = await api("POST", `/audit/markets/${path}/verify`);
        verdict.replaceChildren(el("p", { class: v.outcome_matches ? "ok" : "error" },
          v.outcome_matches ? "Verified: re-running the oracle on the stored input reproduces the committed result"
            : `NOT verified: differences in ${v.differences.join(", ")}`),
        el("dl", { class: "facts" }, [["Stored hash", v.stored_result_hash], ["Recomputed hash", v.recomputed_result_hash],
          ["Input hash matches", String(v.input_hash_matches)], ["Full hash matches", String(v.matches)]].map(([k, x]) => [el("dt", {}, k), el("dd", {}, x ?? "")])));
      } catch (err) { verdict.replaceChildren(el("p", { class: "error" }, err.message)); }
    } }, "Re-verify the clearing"),
    el("button", { id: "consistency", onclick: async () => {
      try {
        const c = await api("POST", "/audit/store-consistency");
        verdict.replaceChildren(el("p", { class: c.consistent ? "ok" : "error" },
          c.consistent ? `Query store consistent with the ledger at height ${c.height} (${JSON.stringify(c.checked)})`
            : `Query store differs: ${c.differences.join("; ")}`));
      } catch (err) { verdict.replaceChildren(el("p", { class: "error" }, err.message)); }
    } }, "Check the query store")), verdict);
  try {
    const record = await api("GET", `/audit/markets/${path}`);
    const committed = record.committed || {};
    parts.push(el("h2", {}, "Clearing transaction"), el("dl", { class: "facts" }, [["Transaction", record.tx_id],
      ["Validation", committed.validation_code], ["Endorsed by", (committed.endorsed_by || []).join(", ")],
      ["Result hash", record.result_hash], ["Input hash", record.input_hash]].map(([k, v]) => [el("dt", {}, k), el("dd", { class: k === "Endorsed by" ? "endorsers" : "" }, v ?? "")])));
  } catch (err) {
    parts.push(el("p", { class: "empty" }, `no clearing record: ${err.message}`));
  }
  const history = await api("GET", `/audit/history/market/${path}`);
  const ids = history.map((h) => `tx_id=${encodeURIComponent(h.tx_id)}`).join("&");
  const known = ids ? await api("GET", `/audit/transactions?${ids}`).catch(() => []) : [];
  const byId = Object.fromEntries(known.map((t) => [t.tx_id, t]));
  parts.push(el("h2", {}, "History of the market record"), table([
    ["Transaction", (h) => h.tx_id], ["Time", (h) => h.timestamp],
    ["Function", (h) => byId[h.tx_id]?.function ?? ""], ["Block", (h) => byId[h.tx_id]?.block ?? ""],
    ["Submitted by", (h) => byId[h.tx_id]?.creator_msp ?? ""],
    ["Endorsed by", (h) => (byId[h.tx_id]?.endorsers ?? []).join(", ")],
    ["Status", (h) => (h.value && h.value.status) || (h.is_delete ? "deleted" : "")],
  ], history.map((h) => ({ ...h, id: h.tx_id })), "no history"));
  return parts;
}

// --- routing ---------------------------------------------------------------------------------------------
const ROUTES = [
  [/^#\/login$/, () => loginView()],
  [/^#\/markets$/, () => marketsView()],
  [/^#\/market\/(.+)$/, (id) => marketView(decodeURIComponent(id))],
  [/^#\/result\/(.+)$/, (id) => resultView(decodeURIComponent(id))],
  [/^#\/audit\/(.+)$/, (id) => auditView(decodeURIComponent(id))],
];

function renderNav() {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  if (!state.me) { nav.replaceChildren(); who.textContent = ""; return; }
  nav.replaceChildren(el("a", { href: "#/markets" }, "Markets"),
    el("a", { href: "#/login", onclick: () => { sessionStorage.removeItem(TOKEN_KEY); state.me = null; if (state.events) state.events.abort(); } }, "Sign out"));
  who.textContent = `${state.me.user} · ${state.me.role} · ${state.me.msp_id}`;
}

async function render(quiet = false) {
  const main = document.getElementById("main");
  let hash = location.hash || "#/markets";
  if (!token() && hash !== "#/login") { location.hash = "#/login"; return; }
  if (token() && !state.me) {
    try { state.me = await api("GET", "/me"); followEvents(); } catch (err) { return; }
  }
  renderNav();
  if (quiet && (state.view === "#/login" || document.activeElement?.closest("form"))) return;  // never wipe a form being filled in
  const route = ROUTES.find(([re]) => re.test(hash));
  if (!route) { location.hash = "#/markets"; return; }
  try {
    const content = await route[1](...(hash.match(route[0]).slice(1)));
    main.replaceChildren(...[content].flat());
    state.view = hash;
    main.dataset.view = hash.split("/")[1];
  } catch (err) {
    main.replaceChildren(el("p", { class: "error" }, err.message));
  }
}

window.addEventListener("hashchange", () => { flash(""); render(); });
window.addEventListener("DOMContentLoaded", () => render());
