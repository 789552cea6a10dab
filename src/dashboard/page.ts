/**
 * The dashboard page: plain HTML, CSS and JavaScript kept in this module (compiled into dist/ with the rest,
 * no build step, no asset to copy). The script renders everything with `textContent` (values from Redis or
 * the gateway are never parsed as HTML) and draws the charts as inline SVG; the page's Content Security
 * Policy admits only these same-origin files.
 */

/** The HTML, with the per-server token the page sends back on a POST (hex: safe in an attribute). */
export function dashboardHtml(token: string): string {
  if (!/^[0-9a-f]+$/.test(token)) throw new TypeError('token must be hex');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="shardline-token" content="${token}">
<title>shardline dashboard</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1 id="title">shardline</h1>
  <span id="conn" class="conn">connecting…</span>
  <span id="uptime"></span>
  <dl id="info"></dl>
</header>
<section class="cards">
  <div class="card"><h2>identify budget</h2><div id="budget" class="big">–</div><div id="budget-detail" class="detail"></div></div>
  <div class="card"><h2>events/s</h2><div id="eps" class="big">–</div><svg id="chart-eps" class="chart" viewBox="0 0 300 60" preserveAspectRatio="none" role="img" aria-label="events per second, last minutes"></svg><div class="caption"><span class="span">last 5 min</span><span id="max-eps"></span></div></div>
  <div class="card"><h2>heartbeat latency</h2><div id="lat" class="big">–</div><svg id="chart-lat" class="chart" viewBox="0 0 300 60" preserveAspectRatio="none" role="img" aria-label="mean heartbeat latency, last minutes"></svg><div class="caption"><span class="span">last 5 min</span><span id="max-lat"></span></div></div>
</section>
<section id="faults" hidden>
  <h2>inject a fault</h2>
  <label>shard <select id="fault-shard"></select></label>
  <span id="fault-buttons"></span>
  <span id="fault-result" class="detail"></span>
</section>
<section>
  <h2>shards <span id="shard-summary" class="detail"></span></h2>
  <table id="shards">
    <thead><tr><th class="id">shard</th><th class="state">state</th><th class="latency">latency</th><th>events/s</th><th>seq</th><th class="resumes">resumes</th><th class="reconnects">reconnects</th><th class="close">last close</th><th class="owner">owner</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<section id="fleet" hidden>
  <h2>fleet <span id="fleet-source" class="detail"></span></h2>
  <p id="fleet-error" class="error" hidden></p>
  <h3>workers</h3>
  <table id="workers"><thead><tr><th>worker</th><th>leases</th><th>shards</th><th>registry expires in</th></tr></thead><tbody></tbody></table>
  <h3>event streams</h3>
  <table id="streams"><thead><tr><th>stream</th><th>length</th><th>group</th><th>consumers</th><th>pending</th><th>lag</th></tr></thead><tbody></tbody></table>
</section>
</body>
</html>
`;
}

export const DASHBOARD_CSS = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #6b7385; --bg: #f6f7fb; --card: #fff; --line: #dde1ea; --accent: #5865f2; --ok: #2e9e5b; --warn: #c98a04; --bad: #d0393e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e4e7ef; --muted: #99a0b3; --bg: #15171d; --card: #1e2129; --line: #2e3340; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem 1.5rem; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1rem; margin-bottom: 1rem; }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
h3 { font-size: .9rem; margin: .8rem 0 .3rem; color: var(--muted); }
dl { display: flex; flex-wrap: wrap; gap: .2rem 1rem; margin: 0; color: var(--muted); }
dt::after { content: ":"; } dd { margin: 0 0 0 .25rem; color: var(--fg); } dl div { display: flex; }
.conn { padding: .1rem .5rem; border-radius: 1rem; background: var(--line); }
.conn.live { background: var(--ok); color: #fff; } .conn.down { background: var(--bad); color: #fff; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 1rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .6rem .9rem; }
.card h2 { margin: 0 0 .2rem; font-size: .85rem; color: var(--muted); font-weight: 600; }
.big { font-size: 1.6rem; font-variant-numeric: tabular-nums; }
.detail { color: var(--muted); font-size: .85rem; font-weight: normal; }
.chart { width: 100%; height: 60px; display: block; }
.chart path { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
.id, .state, .close, .owner { text-align: left; }
.caption { display: flex; justify-content: space-between; color: var(--muted); font-size: .75rem; }
#workers td, #workers th, #streams td, #streams th { text-align: left; }
td.state.ready, td.state.leased { color: var(--ok); } td.state.resuming, td.state.identifying, td.state.connecting, td.state.backoff, td.state.awaiting-hello { color: var(--warn); }
td.state.closed, td.state.free { color: var(--bad); }
.hide-owner .owner { display: none; }
.fleet-rows .latency, .fleet-rows .resumes, .fleet-rows .reconnects, .fleet-rows .close { display: none; }
button { margin: .2rem .3rem .2rem 0; padding: .3rem .7rem; border: 1px solid var(--accent); border-radius: .3rem; background: var(--card); color: var(--fg); cursor: pointer; }
button:hover { background: var(--accent); color: #fff; }
.error { color: var(--bad); }
`;

export const DASHBOARD_JS = `'use strict';
(() => {
  const token = document.querySelector('meta[name="shardline-token"]').content;
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';
  let history = [];
  let capacity = 300;
  let faultsShown = false;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function duration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + 's';
    const m = Math.floor(s / 60);
    if (m < 60) return m + 'm' + String(s % 60).padStart(2, '0') + 's';
    const h = Math.floor(m / 60);
    return h + 'h' + String(m % 60).padStart(2, '0') + 'm';
  }
  const num = (v, digits) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits || 0));
  const ms = (v) => (v === null || v === undefined ? '–' : Math.round(v) + ' ms');

  function chart(svg, values, caption, unit) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const present = values.filter((v) => v !== null && v !== undefined);
    caption.textContent = present.length === 0 ? 'no data here' : 'max ' + Math.max.apply(null, present).toFixed(1) + unit;
    if (present.length === 0) return;
    const max = Math.max.apply(null, present) || 1;
    const step = 300 / Math.max(1, capacity - 1);
    let d = '';
    let pen = false;
    values.forEach((v, i) => {
      if (v === null || v === undefined) { pen = false; return; }
      const x = 300 - (values.length - 1 - i) * step;
      const y = 58 - (v / max) * 54;
      d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
      pen = true;
    });
    const path = document.createElementNS(SVG, 'path');
    path.setAttribute('d', d);
    svg.appendChild(path);
  }

  function renderBudget(b) {
    if (!b) { $('budget').textContent = '–'; $('budget-detail').textContent = 'not known yet'; return; }
    $('budget').textContent = num(b.remaining) + (b.total === null ? '' : ' / ' + b.total);
    const parts = [];
    if (b.resetAt !== null) parts.push('resets in ' + duration(b.resetAt - Date.now()) + ' (' + new Date(b.resetAt).toISOString().slice(0, 16).replace('T', ' ') + ' UTC)');
    if (b.maxConcurrency !== null) parts.push('max_concurrency ' + b.maxConcurrency);
    $('budget-detail').textContent = parts.join(' · ');
  }

  function renderShards(state) {
    const body = $('shards').tBodies[0];
    const rows = [];
    let owners = false;
    let ready = 0;
    for (const s of state.shards) {
      if (s.owner !== undefined) owners = true;
      if (s.state === 'ready' || s.state === 'leased') ready++;
      const tr = el('tr');
      tr.dataset.shard = String(s.id);
      tr.appendChild(el('td', s.id, 'id'));
      tr.appendChild(el('td', s.state, 'state ' + s.state));
      tr.appendChild(el('td', ms(s.latencyMs), 'latency'));
      tr.appendChild(el('td', num(s.eventsPerSecond, 1), 'eps'));
      tr.appendChild(el('td', num(s.seq), 'seq'));
      tr.appendChild(el('td', num(s.resumes), 'resumes'));
      tr.appendChild(el('td', num(s.reconnects), 'reconnects'));
      const close = el('td', s.lastClose ? s.lastClose.code + ' → ' + s.lastClose.action + ', ' + duration(state.at - s.lastClose.at) + ' ago' : '–', 'close');
      if (s.lastClose) close.title = s.lastClose.reason;
      tr.appendChild(close);
      tr.appendChild(el('td', s.owner === undefined || s.owner === null ? '–' : s.owner, 'owner'));
      rows.push(tr);
    }
    body.replaceChildren.apply(body, rows);
    // Rows read from Redis have an owner and no connection facts (each worker's own dashboard has those).
    $('shards').classList.toggle('hide-owner', !owners);
    $('shards').classList.toggle('fleet-rows', owners);
    $('shard-summary').textContent = ready + '/' + state.shards.length + (owners ? ' leased' : ' ready');
    const select = $('fault-shard');
    const ids = state.shards.map((s) => String(s.id));
    const have = Array.from(select.options).map((o) => o.value);
    if (ids.join(',') !== have.join(',')) {
      const keep = select.value;
      select.replaceChildren.apply(select, ids.map((id) => { const o = el('option', id); o.value = id; return o; }));
      if (ids.includes(keep)) select.value = keep;
    }
  }

  function renderFleet(f) {
    $('fleet').hidden = !f;
    if (!f) return;
    $('fleet-source').textContent = f.source + (f.shardCount === null ? ' · no shard count published yet' : ' · ' + f.shardCount + ' shards');
    $('fleet-error').hidden = f.error === null;
    $('fleet-error').textContent = f.error === null ? '' : 'Redis: ' + f.error;
    const workers = f.workers.map((w) => {
      const tr = el('tr');
      tr.dataset.worker = w.id;
      tr.appendChild(el('td', w.id, 'worker'));
      tr.appendChild(el('td', w.shardIds.length, 'leases'));
      tr.appendChild(el('td', w.shardIds.join(', ') || '–', 'shards'));
      tr.appendChild(el('td', w.expiresInMs === null ? 'fixed shards (no registry)' : duration(w.expiresInMs), 'expires'));
      return tr;
    });
    const wb = $('workers').tBodies[0];
    wb.replaceChildren.apply(wb, workers);
    const streams = [];
    for (const s of f.streams) {
      const groups = s.groups.length ? s.groups : [null];
      groups.forEach((g, i) => {
        const tr = el('tr');
        tr.dataset.stream = s.key;
        tr.appendChild(el('td', i === 0 ? s.key : '', 'stream'));
        tr.appendChild(el('td', i === 0 ? s.length : '', 'length'));
        tr.appendChild(el('td', g ? g.name : 'no consumer group', 'group'));
        tr.appendChild(el('td', g ? g.consumers : '', 'consumers'));
        tr.appendChild(el('td', g ? g.pending : '', 'pending'));
        tr.appendChild(el('td', g ? num(g.lag) : '', 'lag'));
        streams.push(tr);
      });
    }
    const sb = $('streams').tBodies[0];
    sb.replaceChildren.apply(sb, streams);
  }

  function render(state) {
    $('uptime').textContent = 'up ' + duration(state.uptimeMs);
    const info = $('info');
    info.replaceChildren.apply(info, state.info.map((pair) => {
      const d = el('div');
      d.appendChild(el('dt', pair[0]));
      d.appendChild(el('dd', pair[1]));
      return d;
    }));
    renderBudget(state.budget);
    renderShards(state);
    renderFleet(state.fleet);
    $('eps').textContent = num(state.sample.eventsPerSecond, 1);
    $('lat').textContent = ms(state.sample.latencyMs);
    if (history.length === 0 || history[history.length - 1].t !== state.sample.t) history.push(state.sample);
    if (history.length > capacity) history = history.slice(history.length - capacity);
    chart($('chart-eps'), history.map((s) => s.eventsPerSecond), $('max-eps'), '/s');
    chart($('chart-lat'), history.map((s) => s.latencyMs), $('max-lat'), ' ms');
  }

  function showFaults(faults) {
    if (faultsShown || faults.length === 0) return;
    faultsShown = true;
    $('faults').hidden = false;
    const box = $('fault-buttons');
    for (const f of faults) {
      const b = el('button', f.label + ' → ' + f.outcome);
      b.type = 'button';
      b.dataset.fault = f.kind;
      b.addEventListener('click', () => inject(f));
      box.appendChild(b);
    }
  }

  function inject(f) {
    const shard = Number($('fault-shard').value);
    $('fault-result').textContent = 'injecting ' + f.label + ' into shard ' + shard + '…';
    fetch('/api/fault', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-shardline-token': token },
      body: JSON.stringify({ kind: f.kind, shard: shard }),
    })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body: body })))
      .then((r) => {
        $('fault-result').textContent = r.ok
          ? (r.body.injected ? 'injected ' + f.label + ' into shard ' + shard + ': it should ' + f.outcome : 'shard ' + shard + ' has no open connection right now')
          : 'refused: ' + r.body.error;
      })
      .catch((err) => { $('fault-result').textContent = 'failed: ' + err; });
  }

  const source = new EventSource('/events');
  source.addEventListener('hello', (e) => {
    const hello = JSON.parse(e.data);
    $('title').textContent = hello.title;
    document.title = hello.title;
    capacity = Math.max(2, hello.historySamples);
    document.querySelectorAll('.caption .span').forEach((e) => { e.textContent = 'last ' + duration(capacity * hello.tickMs); });
    history = hello.history.slice();
    showFaults(hello.faults);
  });
  source.addEventListener('state', (e) => {
    $('conn').textContent = 'live';
    $('conn').className = 'conn live';
    render(JSON.parse(e.data));
  });
  source.addEventListener('error', () => {
    $('conn').textContent = 'disconnected, retrying…';
    $('conn').className = 'conn down';
  });
})();
`;
