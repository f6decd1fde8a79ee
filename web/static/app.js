// The desk's screen: AG Grid Community grids fed by the web gateway's WebSocket (a snapshot, then changed rows keyed
// by id, batched by the gateway). A stale-data warning shows when no heartbeat came for STALE_MS or the socket drops.
"use strict";
const STALE_MS = 3000;
const money = p => (p === null || p === undefined) ? "" : p.toFixed(2);
const columns = {
  orders: [
    {field: "id", headerName: "Order", width: 110}, {field: "clOrdId", headerName: "ClOrdID", width: 110},
    {field: "client", width: 100}, {field: "symbol", width: 80}, {field: "side", width: 80},
    {field: "strategy", width: 90}, {field: "qty", type: "numericColumn", width: 100},
    {field: "px", headerName: "Limit", type: "numericColumn", width: 90, valueFormatter: p => money(p.value)},
    {field: "cumQty", headerName: "Filled", type: "numericColumn", width: 100},
    {field: "leavesQty", headerName: "Leaves", type: "numericColumn", width: 100},
    {field: "avgPx", headerName: "Avg px", type: "numericColumn", width: 100,
     valueFormatter: p => p.value ? p.value.toFixed(4) : ""},
    {field: "status", width: 130},
    {headerName: "", width: 90, sortable: false, filter: false, cellRenderer: p => {
      if (!p.data || !(p.data.leavesQty > 0) || ["Canceled", "Expired", "Rejected", "Filled"].includes(p.data.status)) return "";
      const b = document.createElement("button");
      b.textContent = "Cancel"; b.className = "cancel";
      b.onclick = () => send({action: "cancel", orderId: p.data.id});
      return b;
    }},
    {field: "text", flex: 1}],
  positions: [
    {field: "account", width: 100}, {field: "symbol", width: 80}, {field: "qty", type: "numericColumn", width: 90},
    {field: "avgCost", headerName: "Avg cost", type: "numericColumn", width: 100,
     valueFormatter: p => p.value ? p.value.toFixed(4) : ""},
    {field: "mark", type: "numericColumn", width: 90, valueFormatter: p => money(p.value)},
    {field: "realized", headerName: "Realised $", type: "numericColumn", width: 110, valueFormatter: p => money(p.value)},
    {field: "unrealized", headerName: "Unrealised $", type: "numericColumn", width: 120,
     valueFormatter: p => money(p.value)}],
  alerts: [{field: "seq", width: 90}, {field: "code", width: 180}, {field: "orderId", headerName: "Order", width: 100},
           {field: "text", flex: 1}],
  children: [
    {field: "id", headerName: "Child", width: 110}, {field: "venue", width: 80},
    {field: "qty", type: "numericColumn", width: 80},
    {field: "px", headerName: "Limit", type: "numericColumn", width: 90, valueFormatter: p => money(p.value)},
    {field: "cumQty", headerName: "Filled", type: "numericColumn", width: 80},
    {field: "avgPx", headerName: "Avg px", type: "numericColumn", width: 100,
     valueFormatter: p => p.value ? p.value.toFixed(4) : ""},
    {field: "status", width: 120}, {field: "text", flex: 1}],
  venues: [{field: "venue", width: 90}, {field: "session", width: 100},
           {field: "up", width: 90, valueFormatter: p => p.value ? "up" : "DOWN"}],
  apps: [{field: "app", width: 110}, {field: "processed", headerName: "Processed seq", type: "numericColumn", width: 130},
         {field: "lag", type: "numericColumn", width: 90},
         {field: "reported", headerName: "", width: 80, valueFormatter: p => p.value ? "" : "(sent)"}],
};
const rowClassRules = {
  "row-filled": p => p.data && p.data.status === "Filled",
  "row-canceled": p => p.data && (p.data.status === "Canceled" || p.data.status === "Expired"),
  "row-rejected": p => p.data && p.data.status === "Rejected",
};
const grids = {};
// column layouts are saved per user (the signed-in name, from the page's cookie session) in this browser
let layoutKey = name => "layout-" + name;
const me = fetch("/me").then(r => r.json()).then(m => { layoutKey = name => `layout-${m.user}-${name}`; return m; });
for (const name of ["orders", "positions", "alerts", "children", "venues", "apps"]) {
  grids[name] = agGrid.createGrid(document.getElementById(name + "Grid"), {
    columnDefs: columns[name], rowData: [], getRowId: p => p.data.id, rowClassRules,
    defaultColDef: {sortable: true, filter: true, resizable: true}, enableCellTextSelection: true,
    onColumnMoved: e => save(name), onColumnResized: e => save(name), onSortChanged: e => save(name),
    onGridReady: p => me.then(m => {
      const saved = localStorage.getItem(layoutKey(name));
      if (saved) p.api.applyColumnState({state: JSON.parse(saved), applyOrder: true});
    }),
    preventDefaultOnContextMenu: name === "orders",
    onRowClicked: name === "orders" ? (e => watch(e.data.id)) : undefined,
    onCellContextMenu: name === "orders" ? (e => menu(e.data, e.event)) : undefined,
  });
}
// what this user may do (the cluster file's [screen.rights], as the gateway reports it); the gateway checks again
let allowed = new Set();
// the right-click menu on an order: only the actions the user's roles allow
function menu(order, ev) {
  const m = document.getElementById("menu");
  m.innerHTML = "";
  const items = [["cancel", "Cancel order", {orderId: order.id}], ["pause", "Pause algo", {orderId: order.id}],
                 ["resume", "Resume algo", {orderId: order.id}],
                 ["cancel_all", `Cancel all of ${order.client}`, {client: order.client}],
                 ["kill", `Kill switch: ${order.client}`, {client: order.client}],
                 ["release", `Release kill switch: ${order.client}`, {client: order.client}]];
  for (const [action, label, args] of items) {
    if (!allowed.has(action)) continue;
    const d = document.createElement("div");
    d.textContent = label; d.dataset.action = action;
    d.onclick = () => { m.hidden = true; send({action, ...args}); };
    m.appendChild(d);
  }
  if (!m.children.length) return;
  m.style.left = ev.pageX + "px"; m.style.top = ev.pageY + "px"; m.hidden = false;
}
document.addEventListener("click", e => { if (!e.target.closest("#menu")) document.getElementById("menu").hidden = true; });
// the order being watched: its children, executed quantity against schedule, and market
let watched = null, executed = [], schedule = [];
function watch(orderId) { watched = orderId; send({action: "watch", orderId}); }
function showDetail(m, first) {
  if (m.orderId !== watched) return;
  if (first) {
    document.getElementById("detailTitle").textContent = `Child orders of ${m.orderId}`;
    grids.children.setGridOption("rowData", m.children);
    executed = m.executed; schedule = m.schedule;
  } else {
    const ids = new Set(); grids.children.forEachNode(n => ids.add(n.data.id));
    grids.children.applyTransactionAsync({add: m.children.filter(r => !ids.has(r.id)),
                                          update: m.children.filter(r => ids.has(r.id))});
    executed = executed.concat(m.executed);
  }
  if (m.market) document.getElementById("market").textContent =
    `${m.market.symbol} NBBO ${money(m.market.bid)} x ${money(m.market.ask)} (${m.market.bidQty} x ${m.market.askQty})`;
  chart();
}
function chart() {
  // executed quantity (step line) against the schedule, on the order's own time and quantity axes
  const svg = document.getElementById("chart");
  const pts = schedule.length ? schedule : executed;
  if (!pts.length) { svg.innerHTML = ""; return; }
  const t0 = Math.min(pts[0][0], executed.length ? executed[0][0] : pts[0][0]);
  const t1 = Math.max(pts[pts.length - 1][0], executed.length ? executed[executed.length - 1][0] : 0);
  const q = Math.max(1, ...pts.map(p => p[1]), ...executed.map(p => p[1]));
  const x = t => 5 + 390 * (t - t0) / Math.max(1, t1 - t0), y = v => 195 - 185 * v / q;
  const line = (ps, step) => ps.map((p, i) => (i && step ? `${x(p[0])},${y(ps[i - 1][1])} ` : "") +
                                                `${x(p[0])},${y(p[1])}`).join(" ");
  const hhmm = t => new Date(t / 1e6).toLocaleTimeString("en-US", {timeZone: "America/New_York", hour12: false});
  svg.innerHTML = `<polyline id="scheduleLine" fill="none" stroke="#999" stroke-dasharray="4" points="${line(schedule, false)}"/>` +
    `<polyline id="executedLine" fill="none" stroke="#1565c0" stroke-width="2" points="${line(executed, true)}"/>` +
    `<text x="5" y="12" font-size="10">${q.toLocaleString()}</text>` +
    `<text x="5" y="198" font-size="9">${hhmm(t0)}</text><text x="340" y="198" font-size="9">${hhmm(t1)}</text>`;
}
function save(name) { localStorage.setItem(layoutKey(name), JSON.stringify(grids[name].getColumnState())); }
document.getElementById("search").addEventListener("input", e => {
  for (const g of Object.values(grids)) g.setGridOption("quickFilterText", e.target.value);
});
const known = {orders: new Set(), positions: new Set(), alerts: new Set(), venues: new Set(), apps: new Set()};
// what bench/web.py reads: rows applied, and for each changed order row the delay from its sequenced time to now
window.seqtradeStats = {rows: 0, delaysMs: []};
function apply(tables, snapshot) {
  if (!snapshot && tables.orders) {
    const now = Date.now();
    for (const r of tables.orders) if (r.updated) window.seqtradeStats.delaysMs.push(now - r.updated / 1e6);
  }
  for (const [name, rows] of Object.entries(tables)) {
    const g = grids[name];
    if (!g) continue;
    if (snapshot) { g.setGridOption("rowData", rows); known[name] = new Set(rows.map(r => r.id)); continue; }
    const add = [], update = [], remove = [];
    for (const r of rows) {
      if (r.deleted) { if (known[name].has(r.id)) { remove.push({id: r.id}); known[name].delete(r.id); } }
      else if (known[name].has(r.id)) update.push(r);
      else { add.push(r); known[name].add(r.id); }
    }
    g.applyTransactionAsync({add, update, remove}, counts);     // counted once the grid has the rows
    window.seqtradeStats.rows += add.length + update.length + remove.length;
  }
  counts();
}
function counts() {
  let filled = 0, open = 0;
  grids.orders.forEachNode(n => { if (n.data.status === "Filled") filled++; else if (n.data.leavesQty > 0) open++; });
  document.getElementById("counts").textContent =
    `orders ${known.orders.size} · open ${open} · filled ${filled} · positions ${known.positions.size} · alerts ${known.alerts.size}`;
}
let socket = null;
function send(action) { if (socket) socket.send(JSON.stringify(action)); }
document.getElementById("kill").onclick = () => send({action: "kill", client: "*"});
document.getElementById("release").onclick = () => send({action: "release", client: "*"});
me.then(m => {
  allowed = new Set(m.actions);
  if (allowed.has("kill") && m.clients.includes("*")) document.getElementById("risk").hidden = false;
});
let lastBeat = 0, streamUp = false;
function staleCheck() {
  const stale = !streamUp || Date.now() - lastBeat > STALE_MS;
  document.getElementById("stale").hidden = !stale;
  document.body.dataset.stale = stale ? "1" : "0";
}
setInterval(staleCheck, 500);
function open() {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  socket = ws;
  ws.onmessage = ev => {
    const m = JSON.parse(ev.data);
    if (m.type === "snapshot") {
      document.getElementById("who").textContent = m.user; apply(m.tables, true);
      if (watched) watch(watched);                  // after a reconnect, the order being watched again
    }
    else if (m.type === "delta") apply(m.tables, false);
    else if (m.type === "heartbeat") { lastBeat = Date.now(); streamUp = m.streamUp; }
    else if (m.type === "detail") showDetail(m, true);
    else if (m.type === "detailDelta") showDetail(m, false);
    else if (m.type === "actionResult") {
      const r = document.getElementById("result");
      r.textContent = (m.ok ? "" : "refused: ") + (m.action || "") + " " + m.text;
      r.dataset.ok = m.ok ? "1" : "0";
    }
    document.body.dataset.ready = "1";
  };
  ws.onclose = () => { streamUp = false; staleCheck(); setTimeout(open, 1000); };
}
open();
