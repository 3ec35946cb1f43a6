// rpcsh ui: the page. Every string a server sends is set as text (textContent, values), never as
// HTML. Calls go as lines of the shell's language over one WebSocket to an engine of this page.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_SHOWN = 200; // a long stream keeps its newest messages on the page
let socket = null;
let method = null; // {path, client_streaming, server_streaming, input}
let sentHeaders = []; // the names `header set` gave the engine, unset before the next call
let streamOpen = false;
let received = 0;
let pending = 0; // lines sent that the engine has not answered `done` to
let calling = false;
let failed = "";
let started = 0;
let lastCall = null; // {method, request, metadata} of the call running, for the history
let steps = [];
let nextStep = 0;

function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

async function api(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// --- the service tree -------------------------------------------------------------------

async function loadTree() {
  try {
    const { services } = await api("/api/services");
    const tree = $("tree");
    tree.replaceChildren();
    for (const name of services) {
      const item = el("li");
      const box = el("details");
      box.append(el("summary", {}, name));
      const list = el("ul", { "aria-label": `Methods of ${name}` });
      box.append(list);
      box.addEventListener("toggle", () => box.open && loadMethods(name, list), { once: false });
      item.append(box);
      item.dataset.service = name;
      tree.append(item);
    }
  } catch (e) {
    $("tree-error").textContent = String(e.message || e);
  }
}

async function loadMethods(service, list) {
  if (list.childElementCount) return;
  try {
    const { methods } = await api(`/api/methods?service=${encodeURIComponent(service)}`);
    for (const m of methods) {
      const item = el("li");
      const b = el("button", { type: "button", "data-path": m.path }, m.name);
      b.method = m;
      b.addEventListener("click", () => pick(m, b));
      item.append(b);
      list.append(item);
    }
    filterTree();
  } catch (e) {
    list.append(el("li", { role: "alert" }, String(e.message || e)));
  }
}

// Search opens every service (its methods load as a shell's would) and hides what does not match.
// Past this many services, search matches service names and the methods of services opened:
// loading every service's file to search a big schema would cost what the shell avoids.
const SEARCH_LOADS_UP_TO = 100;

async function searchTree() {
  const q = $("search").value.trim().toLowerCase();
  if (q && $("tree").childElementCount <= SEARCH_LOADS_UP_TO) {
    for (const box of $("tree").querySelectorAll("details")) {
      const list = box.querySelector("ul");
      await loadMethods(box.querySelector("summary").textContent, list);
      box.open = true;
    }
  }
  filterTree();
}

function filterTree() {
  const q = $("search").value.trim().toLowerCase();
  for (const item of $("tree").children) {
    let any = !q || item.dataset.service.toLowerCase().includes(q);
    for (const b of item.querySelectorAll("button")) {
      const hit = !q || any || b.dataset.path.toLowerCase().includes(q);
      b.parentElement.hidden = !hit;
      any = any || hit;
    }
    item.hidden = !any;
  }
}

// --- the request form -----------------------------------------------------------------------

async function pick(m, button) {
  for (const b of $("tree").querySelectorAll("button[aria-current]")) b.removeAttribute("aria-current");
  button.setAttribute("aria-current", "true");
  method = m;
  $("method-title").textContent = m.path;
  const style = m.client_streaming && m.server_streaming ? "bidi streaming"
    : m.client_streaming ? "client streaming" : m.server_streaming ? "server streaming" : "unary";
  $("docs").textContent = "";
  api(`/api/describe?symbol=${encodeURIComponent(m.path.replace("/", "."))}`)
    .then((d) => { $("docs").textContent = `${style}\n\n${d.text}`; })
    .catch((e) => { $("docs").textContent = String(e.message || e); });
  const form = $("form");
  form.replaceChildren();
  await buildFields(form, m.input, 0);
  $("json").value = "{}";
  for (const id of ["send", "copy-rpcsh", "copy-grpcurl"]) $(id).disabled = false;
  $("watch").hidden = !(m.server_streaming && !m.client_streaming);
  $("copy-curl").hidden = document.body.dataset.protocol === "grpc" || m.client_streaming || m.server_streaming;
  syncJson();
}

// Opens `path`'s service in the tree and picks the method, as a click would.
async function pickPath(path) {
  const service = path.split("/")[0];
  for (const item of $("tree").children) {
    if (item.dataset.service !== service) continue;
    const box = item.querySelector("details");
    await loadMethods(service, box.querySelector("ul"));
    box.open = true;
    const b = box.querySelector(`button[data-path="${CSS.escape(path)}"]`);
    if (b) await pick(b.method, b);
    return b;
  }
  return null;
}

async function buildFields(container, typeName, depth) {
  const { fields } = await api(`/api/message?name=${encodeURIComponent(typeName)}`);
  for (const f of fields) container.append(await fieldInput(f, depth));
}

let ids = 0;

async function fieldInput(f, depth) {
  const wrap = el("div", { class: "field" });
  wrap.dataset.name = f.name;
  wrap.dataset.kind = f.input.kind;
  wrap.dataset.repeated = f.repeated ? "1" : "";
  const id = `f${ids++}`;
  const kindText = (f.repeated ? "repeated " : "") + (f.input.type || f.input.kind) + (f.oneof ? ` (oneof ${f.oneof})` : "");
  if (f.input.kind === "message" && !f.repeated && depth < 4) {
    const set = el("fieldset");
    set.dataset.name = f.name;
    set.dataset.kind = "message";
    set.append(el("legend", {}, `${f.name} `), el("span", { class: "kind" }, kindText));
    await buildFields(set, f.input.type, depth + 1);
    return set;
  }
  wrap.append(el("label", { for: id }, f.name));
  let input;
  if (f.repeated && !["map", "json", "message"].includes(f.input.kind)) {
    return repeatedInput(f, kindText);
  }
  if (f.repeated || f.input.kind === "map" || f.input.kind === "json" || f.input.kind === "message") {
    input = el("textarea", { id, rows: "2", placeholder: f.input.kind === "map" ? "{\"key\": value}" : "[...] as JSON", spellcheck: "false" });
    wrap.dataset.kind = "json";
  } else if (f.input.kind === "bool") {
    input = el("input", { id, type: "checkbox" });
  } else if (f.input.kind === "enum") {
    input = el("select", { id });
    input.append(el("option", { value: "" }, "(unset)"));
    for (const v of f.input.values) input.append(el("option", { value: v }, v));
  } else if (f.input.kind === "bytes") {
    input = el("input", { id, placeholder: "base64" });
    const file = el("input", { type: "file", "aria-label": `${f.name} from a file` });
    file.addEventListener("change", async () => {
      const data = new Uint8Array(await file.files[0].arrayBuffer());
      let s = ""; for (const b of data) s += String.fromCharCode(b);
      input.value = btoa(s); syncJson();
    });
    wrap.append(input, file, el("span", { class: "kind" }, kindText));
    input.addEventListener("input", syncJson);
    return wrap;
  } else {
    const hint = { timestamp: "2024-01-01T00:00:00Z", duration: "1.5s" }[f.input.kind] || "";
    input = el("input", { id, placeholder: hint });
  }
  input.addEventListener("input", syncJson);
  input.addEventListener("change", syncJson);
  wrap.append(input, el("span", { class: "kind" }, kindText));
  return wrap;
}

// A repeated scalar or enum: a list of its items, each added and removed by a button.
function repeatedInput(f, kindText) {
  const wrap = el("div", { class: "field" });
  wrap.dataset.name = f.name;
  wrap.dataset.kind = "list";
  wrap.dataset.item = f.input.kind;
  const labelId = `f${ids++}`;
  const list = el("ol", { "aria-labelledby": labelId });
  const add = el("button", { type: "button" }, `Add ${f.name}`);
  add.addEventListener("click", () => { list.append(listItem(f, list)); syncJson(); });
  wrap.append(el("span", { id: labelId }, f.name), list, add, el("span", { class: "kind" }, kindText));
  wrap.field = f;
  return wrap;
}

function listItem(f, list, value) {
  const item = el("li");
  const n = list.childElementCount + 1;
  let input;
  if (f.input.kind === "enum") {
    input = el("select", { "aria-label": `${f.name} ${n}` });
    for (const v of f.input.values) input.append(el("option", { value: v }, v));
  } else {
    input = el("input", { "aria-label": `${f.name} ${n}` });
  }
  if (value !== undefined) input.value = String(value);
  input.addEventListener("input", syncJson);
  input.addEventListener("change", syncJson);
  const remove = el("button", { type: "button" }, `Remove ${f.name} ${n}`);
  remove.addEventListener("click", () => { item.remove(); syncJson(); });
  item.append(input, remove);
  return item;
}

// A typed value as proto3 JSON has it: numbers as numbers while exact, else as text.
function scalar(kind, text) {
  if (kind === "bool") return text === "true";
  if (kind !== "number") return text;
  const n = Number(text);
  return Number.isSafeInteger(n) || (!Number.isInteger(n) && !Number.isNaN(n)) ? n : text;
}

// The form's values as the request's JSON: empty inputs are left out.
function formValue(container) {
  const out = {};
  for (const child of container.children) {
    const name = child.dataset.name;
    if (!name) continue;
    if (child.tagName === "FIELDSET") {
      const v = formValue(child);
      if (Object.keys(v).length) out[name] = v;
      continue;
    }
    const kind = child.dataset.kind;
    if (kind === "list") {
      const items = [...child.querySelectorAll("li input, li select")].map((i) => i.value.trim()).filter((v) => v !== "");
      if (items.length) out[name] = items.map((v) => scalar(child.dataset.item, v));
      continue;
    }
    const input = child.querySelector("input:not([type=file]), select, textarea");
    if (kind === "bool") { if (input.checked) out[name] = true; continue; }
    const text = input.value.trim();
    if (!text) continue;
    if (kind === "json") { try { out[name] = JSON.parse(text); } catch { out[name] = text; } continue; }
    out[name] = scalar(kind, text);
  }
  return out;
}

// The JSON's values put back into the form (the raw tab's edits).
function fillForm(container, value) {
  for (const child of container.children) {
    const name = child.dataset.name;
    if (!name) continue;
    const v = value ? value[name] : undefined;
    if (child.tagName === "FIELDSET") { fillForm(child, v || {}); continue; }
    if (child.dataset.kind === "list") {
      const list = child.querySelector("ol");
      list.replaceChildren();
      for (const item of Array.isArray(v) ? v : []) list.append(listItem(child.field, list, item));
      continue;
    }
    const input = child.querySelector("input:not([type=file]), select, textarea");
    if (child.dataset.kind === "bool") { input.checked = v === true; continue; }
    input.value = v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  }
}

function syncJson() {
  $("json").value = JSON.stringify(formValue($("form")), null, 2);
}

function requestJson() {
  const text = $("json").value.trim() || "{}";
  return JSON.stringify(JSON.parse(text));
}

function showTab(json) {
  if (json) syncJson(); else { try { fillForm($("form"), JSON.parse($("json").value || "{}")); } catch { /* kept as typed */ } }
  $("tab-form").setAttribute("aria-selected", String(!json));
  $("tab-json").setAttribute("aria-selected", String(json));
  $("panel-form").hidden = json;
  $("panel-json").hidden = !json;
}

// --- calls ------------------------------------------------------------------------------------

function send(obj) {
  if (obj.line !== undefined || obj.end) pending += 1;
  socket.send(JSON.stringify(obj));
}

function metadataLines() {
  const lines = [];
  for (const h of sentHeaders) lines.push(`header unset ${h}`);
  sentHeaders = [];
  for (const raw of $("metadata").value.split("\n")) {
    const i = raw.indexOf(":");
    if (i <= 0) continue;
    const name = raw.slice(0, i).trim().toLowerCase(), value = raw.slice(i + 1).trim();
    if (!name || !value) continue;
    lines.push(`header set ${name} ${value}`);
    sentHeaders.push(name);
  }
  const t = $("timeout").value.trim();
  lines.push(`set timeout ${t || "off"}`);
  return lines;
}

function clearResponse() {
  for (const id of ["headers", "messages", "trailers"]) $(id).replaceChildren();
  $("log").replaceChildren(); $("count").textContent = ""; $("timing").textContent = ""; received = 0;
  setStatus("", "");
}

// The shell's output, its newest 500 pieces of at most 64 KiB: a long stream's text never grows
// the page without end (a piece is one print, appended as a node: no copy of what is there).
const LOG_PIECES = 500;
let errorSaid = false;
let missed = 0; // events rpcsh could not queue for the page during the call

const PIECE_KEPT = 65536; // of one print, its end

function appendLog(text) {
  const log = $("log");
  if (text.includes("rpcsh: error:")) errorSaid = true;
  if (text.length > PIECE_KEPT) text = `…${text.slice(-PIECE_KEPT)}`;
  log.append(document.createTextNode(text));
  while (log.childNodes.length > LOG_PIECES) log.firstChild.remove();
}

function setStatus(text, cls) { $("status").textContent = text; $("status").className = cls; }

function startCall() {
  if (!method || !socket) return;
  let body;
  try { body = requestJson(); } catch (e) { setStatus(`the request is not JSON: ${e.message}`, "failed"); return; }
  clearResponse();
  failed = ""; errorSaid = false; missed = 0; calling = true; started = performance.now();
  lastCall = { method: method.path, request: body, metadata: $("metadata").value.split("\n").filter((l) => l.includes(":")) };
  for (const line of metadataLines()) send({ line });
  setStatus("running…", "");
  $("cancel").disabled = false;
  if (method.client_streaming) {
    send({ line: `call ${method.path}` });
    streamOpen = true;
    $("send-message").hidden = false; $("end-stream").hidden = false;
    send({ line: body });
  } else {
    send({ line: `call ${method.path} ${body}` });
  }
}

function showPairs(list, pairs) {
  for (const [k, v] of pairs) list.append(el("li", {}, `${k}: ${v}`));
}

function onEvent(ev) {
  switch (ev.kind) {
    case "ready": $("connection").textContent = "ready"; break;
    case "text":
      appendLog(ev.text);
      for (const m of ev.text.matchAll(/^\[(\d+)\] (.*)$/gm)) watchNote(m[1], m[2]);
      break;
    case "headers": if (!ev.tag) showPairs($("headers"), ev.headers); break;
    case "trailers": if (!ev.tag) showPairs($("trailers"), ev.trailers); break;
    case "message": {
      if (ev.tag) { watchMessage(ev.tag, ev.json); break; }
      received += 1;
      const list = $("messages");
      const item = el("li");
      item.append(el("pre", {}, JSON.stringify(ev.json, null, 2)));
      list.append(item);
      while (list.childElementCount > MAX_SHOWN) list.firstChild.remove();
      $("count").textContent = `(${received}${received > MAX_SHOWN ? `, the last ${MAX_SHOWN} shown` : ""})`;
      break;
    }
    case "failed": failed = ev.code; setStatus(`failed: ${ev.code}`, "failed"); break;
    case "done":
      pending = Math.max(0, pending - 1);
      missed += ev.dropped || 0;
      if (ev.prompt.endsWith(">> ")) { streamOpen = true; break; } // the stream takes more messages
      if (pending > 0 || !calling) break;
      if (failed || errorSaid) {
        setStatus(failed ? `failed: ${failed}` : "failed: see the shell output", "failed");
      } else {
        setStatus(`OK: ${received} message(s)${missed ? `, ${missed} events not shown (the page was slower than the call)` : ""}`, "ok");
      }
      $("timing").textContent = started ? `took ${Math.round(performance.now() - started)} ms` : "";
      started = 0;
      if (method && lastCall) saveHistory(lastCall, $("status").textContent);
      lastCall = null;
      calling = false; streamOpen = false;
      $("send-message").hidden = true; $("end-stream").hidden = true;
      $("cancel").disabled = true;
      break;
  }
}

function connect() {
  socket = new WebSocket(`ws://${location.host}/ws`);
  socket.addEventListener("message", (m) => onEvent(JSON.parse(m.data)));
  socket.addEventListener("close", () => { $("connection").textContent = "disconnected: reload the page"; });
}


// --- watches, history, scripts ----------------------------------------------------------------

function watchItem(tag) {
  let item = $("watches").querySelector(`li[data-tag="${CSS.escape(tag)}"]`);
  if (item) return item;
  item = el("li", { "data-tag": tag });
  const title = el("span", { class: "title" }, `[${tag}]`);
  const count = el("span", { class: "count" }, " 0 messages");
  const stop = el("button", { type: "button" }, `Stop watch ${tag}`);
  stop.addEventListener("click", () => send({ line: `stop ${tag}` }));
  const last = el("pre", { "aria-label": `Watch ${tag}, its last message` });
  item.append(title, count, " ", stop, last);
  item.dataset.count = "0";
  $("watches").append(item);
  return item;
}

function watchMessage(tag, json) {
  const item = watchItem(tag);
  item.dataset.count = String(Number(item.dataset.count) + 1);
  item.querySelector(".count").textContent = ` ${item.dataset.count} messages`;
  item.querySelector("pre").textContent = JSON.stringify(json);
}

// The engine's notes on a watch: "[N] watching Svc/M", "[N] ... ended after ...".
function watchNote(tag, text) {
  const item = watchItem(tag);
  if (text.startsWith("watching ")) item.querySelector(".title").textContent = `[${tag}] ${text.slice(9)}`;
  else if (!text.startsWith("{")) { item.querySelector(".count").textContent = ` ${item.dataset.count} messages: ${text}`; }
}

function startWatch() {
  let body;
  try { body = requestJson(); } catch (e) { setStatus(`the request is not JSON: ${e.message}`, "failed"); return; }
  for (const line of metadataLines()) send({ line });
  send({ line: `watch ${method.path} ${body}` });
}

async function loadHistory() {
  try {
    const { entries } = await api("/api/history");
    const list = $("history");
    list.replaceChildren();
    for (const e of entries.slice(0, 50)) {
      const when = new Date(e.at * 1000).toLocaleTimeString();
      const b = el("button", { type: "button" }, `${e.method} · ${e.status} · ${when}`);
      b.addEventListener("click", () => restore(e));
      const item = el("li");
      item.append(b);
      list.append(item);
    }
  } catch { /* no history is no history */ }
}

async function restore(entry) {
  await pickPath(entry.method);
  $("metadata").value = entry.metadata.join("\n");
  $("json").value = entry.request;
  try { fillForm($("form"), JSON.parse(entry.request)); } catch { /* kept as sent */ }
}

async function saveHistory(call, status) {
  await fetch("/api/history", {
    method: "POST", credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...call, status }),
  }).catch(() => {});
  loadHistory();
}

async function openScript() {
  $("script-error").textContent = "";
  try {
    ({ steps } = await api(`/api/steps?path=${encodeURIComponent($("script-path").value.trim())}`));
  } catch (e) { $("script-error").textContent = String(e.message || e); steps = []; }
  nextStep = 0;
  const list = $("steps");
  list.replaceChildren(...steps.map((s) => el("li", {}, s)));
  markStep();
}

function markStep() {
  const items = $("steps").children;
  for (let i = 0; i < items.length; i++) {
    if (i === nextStep) items[i].setAttribute("aria-current", "step"); else items[i].removeAttribute("aria-current");
  }
  $("step-next").disabled = nextStep >= steps.length;
}

function runStep() {
  const step = steps[nextStep++];
  const first = step.trim().split(/\s+/)[0];
  if (first === "call" || first.includes("/")) { clearResponse(); failed = ""; errorSaid = false; calling = true; setStatus("running…", ""); }
  send({ line: step });
  markStep();
}

function record(start) {
  send({ line: start ? `record ${$("record-path").value.trim()}` : "record stop" });
  $("record-start").disabled = start; $("record-stop").disabled = !start;
}

// --- copy as ----------------------------------------------------------------------------------

function shellQuote(s) { return `'${s.replace(/'/g, "'\\''")}'`; }

function headerFlags(flag) {
  return $("metadata").value.split("\n").map((l) => l.trim()).filter((l) => l.includes(":"))
    .map((l) => ` ${flag} ${shellQuote(l)}`).join("");
}

function copyAs(tool) {
  let body;
  try { body = requestJson(); } catch { body = "{}"; }
  const addr = $("server").dataset.current;
  const t = $("timeout").value.trim();
  const text = tool === "rpcsh"
    ? `rpcsh call --addr ${shellQuote(addr)}${headerFlags("-H")}${t ? ` --timeout ${t}` : ""} ${method.path} ${shellQuote(body)}`
    : `grpcurl -plaintext${headerFlags("-H")}${t ? ` -max-time ${parseFloat(t)}` : ""} -d ${shellQuote(body)} ${shellQuote(addr)} ${method.path}`;
  showCommand(text);
}

function showCommand(text) {
  $("command").value = text;
  navigator.clipboard && navigator.clipboard.writeText(text).catch(() => {});
}

function baseUrl() {
  const addr = $("server").dataset.current;
  return /^https?:\/\//.test(addr) ? addr.replace(/\/$/, "") : `http://${addr}`;
}

// Connect: the request as JSON; gRPC-Web: its frame as base64 text (grpc-web-text), which rpcsh
// encodes from the schema.
async function copyCurl() {
  let body;
  try { body = requestJson(); } catch { body = "{}"; }
  const url = `${baseUrl()}/${method.path}`;
  if (document.body.dataset.protocol === "connect") {
    showCommand(`curl -sS -H 'content-type: application/json'${headerFlags("-H")} --data-binary ${shellQuote(body)} ${shellQuote(url)}`);
    return;
  }
  const r = await fetch("/api/encode", {
    method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
    body: JSON.stringify({ method: method.path, json: body }),
  });
  const encoded = await r.json();
  if (!r.ok) { showCommand(encoded.error); return; }
  showCommand(`curl -sS -H 'content-type: application/grpc-web-text' -H 'accept: application/grpc-web-text' -H 'x-grpc-web: 1'${headerFlags("-H")} --data-binary ${shellQuote(encoded.base64)} ${shellQuote(url)}`);
}


// --- completion in the raw JSON tab ----------------------------------------------------------

const schemas = new Map(); // message type -> its fields, as /api/message gives them

async function fieldsOf(type) {
  if (!schemas.has(type)) schemas.set(type, (await api(`/api/message?name=${encodeURIComponent(type)}`)).fields);
  return schemas.get(type);
}

// Where the caret is in the JSON: the object keys leading to it, and whether it is in a key
// being typed (`{"la|`) or in a string value (`"color": "GR|`), with what is typed so far.
function caretPlace(text) {
  const path = [];
  let key = null, inString = false, start = 0, isKey = false, lastKey = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") { i++; continue; }
      if (c === '"') { inString = false; if (isKey) lastKey = text.slice(start, i); }
      continue;
    }
    if (c === '"') {
      inString = true; start = i + 1;
      const before = text.slice(0, i).trimEnd();
      isKey = before.endsWith("{") || before.endsWith(",");
    } else if (c === "{") { path.push(key); key = null; }
    else if (c === "}") { path.pop(); }
    else if (c === ":") { key = lastKey; }
    else if (c === "[") { path.push(key); key = null; }
    else if (c === "]") { path.pop(); }
  }
  if (!inString) return null;
  return { path: path.slice(1).concat(isKey ? [] : []), typed: text.slice(start), isKey, key: lastKey, valueKey: key };
}

async function suggest() {
  const box = $("suggestions");
  box.replaceChildren();
  if (!method) return;
  const area = $("json");
  const place = caretPlace(area.value.slice(0, area.selectionStart));
  if (!place) return;
  let type = method.input;
  try {
    for (const name of place.path) {
      if (name === null) continue;
      const f = (await fieldsOf(type)).find((x) => x.name === name);
      if (!f || f.input.kind !== "message") return;
      type = f.input.type;
    }
    const fields = await fieldsOf(type);
    let options = [];
    if (place.isKey) options = fields.map((f) => f.name);
    else {
      const f = fields.find((x) => x.name === place.valueKey);
      if (f && f.input.kind === "enum") options = f.input.values;
    }
    const typed = place.typed.toLowerCase();
    for (const o of options.filter((o) => o.toLowerCase().startsWith(typed) && o !== place.typed)) {
      const option = el("li", { role: "option", tabindex: "-1" }, o);
      option.addEventListener("click", () => complete(o, place.typed.length));
      box.append(option);
    }
  } catch { /* no suggestions */ }
}

function complete(word, typedLength) {
  const area = $("json");
  const at = area.selectionStart;
  const rest = word.slice(typedLength);
  area.value = area.value.slice(0, at) + rest + '"' + area.value.slice(at).replace(/^"/, "");
  area.selectionStart = area.selectionEnd = at + rest.length + 1;
  area.focus();
  $("suggestions").replaceChildren();
}

// --- the server ------------------------------------------------------------------------------

async function switchServer(event) {
  event.preventDefault();
  const address = $("server").value.trim();
  $("tree-error").textContent = "";
  $("connection").textContent = `connecting to ${address}…`;
  const r = await fetch("/api/connect", {
    method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
    body: JSON.stringify({ address }),
  });
  const answer = await r.json();
  if (!r.ok) {
    $("connection").textContent = "not connected";
    $("tree-error").textContent = answer.error;
    return;
  }
  $("server").dataset.current = answer.address;
  send({ line: `connect ${answer.address}` });
  $("connection").textContent = "ready";
  $("tree").replaceChildren();
  loadTree();
}

// --- wiring -----------------------------------------------------------------------------------

window.addEventListener("DOMContentLoaded", () => {
  $("search").addEventListener("input", searchTree);
  $("tab-form").addEventListener("click", () => showTab(false));
  $("tab-json").addEventListener("click", () => showTab(true));
  $("json").addEventListener("input", suggest);
  $("json").addEventListener("change", () => { try { fillForm($("form"), JSON.parse($("json").value)); } catch { /* kept */ } });
  $("send").addEventListener("click", startCall);
  $("send-message").addEventListener("click", () => {
    try { send({ line: requestJson() }); } catch (e) { setStatus(`the message is not JSON: ${e.message}`, "failed"); }
  });
  $("end-stream").addEventListener("click", () => send({ end: true }));
  $("cancel").addEventListener("click", () => send({ cancel: true }));
  $("copy-rpcsh").addEventListener("click", () => copyAs("rpcsh"));
  $("copy-grpcurl").addEventListener("click", () => copyAs("grpcurl"));
  $("copy-curl").addEventListener("click", copyCurl);
  $("watch").addEventListener("click", startWatch);
  $("script-open").addEventListener("click", openScript);
  $("step-next").addEventListener("click", runStep);
  $("record-start").addEventListener("click", () => record(true));
  $("record-stop").addEventListener("click", () => record(false));
  $("server-form").addEventListener("submit", switchServer);
  connect();
  if (document.body.dataset.ask) {
    $("tree-error").textContent = "Give the server's address above, then Connect.";
    $("server").value = "";
    $("server").focus();
  } else {
    loadTree();
  }
  loadHistory();
});
