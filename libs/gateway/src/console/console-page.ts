// The console's page: plain HTML, CSS and JavaScript served from these strings (no build step, nothing to copy into
// the package). The script has no backticks or dollar-brace sequences, so it can sit in a template literal.

/** The page, its API base set to where the console is mounted. */
export function consolePageHtml(base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenAgentIO console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/console.css">
</head>
<body data-base="${base}">
<header>
  <h1>OpenAgentIO console</h1>
  <span id="feed-state" class="pill">connecting</span>
  <span id="swept" class="muted"></span>
</header>
<main>
  <section id="topology-view">
    <h2>Topology <small class="muted">agents from discovery, calls observed by the buses (last 10 s)</small></h2>
    <svg id="topology" viewBox="0 0 1000 560" role="img" aria-label="agents and the calls between them"></svg>
    <table id="instances"><thead><tr><th>agent</th><th>instance</th><th>version</th><th>health</th><th>calls served</th><th></th></tr></thead><tbody></tbody></table>
    <table id="edges"><thead><tr><th>caller</th><th>agent</th><th>target</th><th>calls/s</th><th>errors</th><th>calls (10 s)</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="traffic-view">
    <h2>Traffic <small class="muted">per target, last minute; the line is calls/s over the window</small></h2>
    <table id="traffic"><thead><tr><th>agent</th><th>target</th><th>kind</th><th>calls/s</th><th>p50</th><th>p99</th><th>errors</th><th>calls (1 min)</th><th>calls/s over time</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="conversations-view">
    <h2>Conversations <small class="muted">recent spans kept by each process, gathered over the bus</small></h2>
    <form id="conv-search">
      <label>session <input id="conv-session" size="18"></label>
      <label>trace id <input id="conv-trace" size="34"></label>
      <label>last <select id="conv-minutes"><option value="5">5 min</option><option value="15" selected>15 min</option><option value="60">1 h</option><option value="1440">24 h</option></select></label>
      <button type="submit">search</button>
    </form>
    <p id="conv-note" class="muted"></p>
    <table id="conversations"><thead><tr><th>started</th><th>trace</th><th>session</th><th>agents</th><th>spans</th><th>duration</th><th>errors</th><th></th></tr></thead><tbody></tbody></table>
    <div id="timeline"></div>
  </section>
  <section id="tasks-view">
    <h2>Tasks</h2>
    <form id="task-filter">
      <label>state <select id="task-state"><option value="">any</option><option>submitted</option><option>working</option><option>input-required</option><option>completed</option><option>failed</option><option>canceled</option><option>rejected</option></select></label>
      <label>target <input id="task-target" placeholder="any target" size="18"></label>
    </form>
    <p id="tasks-note" class="muted"></p>
    <table id="tasks"><thead><tr><th>task</th><th>target</th><th>state</th><th>attempts</th><th>progress</th><th>session</th><th>updated</th><th></th></tr></thead><tbody></tbody></table>
  </section>
</main>
<script src="${base}/console.js"></script>
</body>
</html>
`;
}

export const CONSOLE_PAGE_CSS = String.raw`
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { display: flex; gap: 12px; align-items: baseline; padding: 10px 20px; background: #1d2330; color: #fff; }
header h1 { font-size: 18px; margin: 0; }
main { padding: 8px 20px 40px; }
section { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 8px 14px 14px; margin: 12px 0; }
h2 { font-size: 16px; margin: 6px 0 10px; }
.muted { color: #7a8394; font-weight: normal; }
header .muted { color: #b8c0cf; }
.pill { font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #7a8394; }
.pill.live { background: #1f9d55; }
.pill.offline { background: #c53030; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eef0f4; font-variant-numeric: tabular-nums; }
th { font-weight: 600; color: #4a5263; }
tr.failing td { color: #c53030; }
svg#topology { width: 100%; height: auto; background: #fbfcfd; border: 1px solid #eef0f4; }
.node rect { fill: #fff; stroke: #4a6fa5; stroke-width: 1.5; }
.node text { font-size: 12px; fill: #1d2330; }
.node .title { font-weight: 700; font-size: 13px; }
.node .target { fill: #4a5263; }
.instance.up { fill: #1f9d55; }
.instance.stale { fill: #a0a7b4; }
.instance.drained { fill: #d69e2e; }
tr.stale td { opacity: 0.4; }
tr.drained td { color: #975a16; }
.node.stale { opacity: 0.3; transition: opacity 0.6s; }
.edge line, .edge path { stroke: #4a6fa5; stroke-width: 2; fill: none; marker-end: url(#arrow); }
.edge.idle line, .edge.idle path { stroke: #c3cad6; stroke-dasharray: 4 3; }
.edge.failing line, .edge.failing path { stroke: #c53030; }
.edge text { font-size: 11px; fill: #4a5263; }
.edge.failing text { fill: #c53030; }
.spark { width: 160px; height: 24px; }
.spark polyline { fill: none; stroke: #4a6fa5; stroke-width: 1.5; }
.state-working, .state-submitted { color: #2b6cb0; }
.state-completed { color: #1f9d55; }
.state-failed, .state-rejected { color: #c53030; }
.state-canceled { color: #7a8394; }
form label { margin-right: 14px; }
#conversations tbody tr { cursor: pointer; }
#conversations tbody tr.selected td { background: #eef3fb; }
#timeline { margin-top: 10px; }
#timeline h3 { font-size: 14px; margin: 8px 0; }
.hop { display: grid; grid-template-columns: 110px 260px 80px 1fr; gap: 8px; align-items: center; font-size: 12px; padding: 1px 0; }
.hop .bar { position: relative; height: 12px; background: #f1f3f7; }
.hop .bar span { position: absolute; top: 0; height: 12px; background: #4a6fa5; min-width: 2px; border-radius: 2px; }
.hop.error .bar span { background: #c53030; }
.hop.error .name { color: #c53030; }
`;

export const CONSOLE_PAGE_JS = String.raw`(function () {
  'use strict';
  var base = document.body.getAttribute('data-base');
  var token = new URLSearchParams(location.search).get('access_token');
  var SVG = 'http://www.w3.org/2000/svg';

  function api(path) {
    return base + '/api/' + path;
  }
  function authHeaders(extra) {
    var h = extra || {};
    if (token) h.authorization = 'Bearer ' + token;
    return h;
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function rate(r) {
    return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
  }
  function ms(v) {
    if (v === undefined || v === null) return '–';
    return v < 1 ? (v * 1000).toFixed(0) + ' µs' : v < 1000 ? v.toFixed(v < 10 ? 1 : 0) + ' ms' : (v / 1000).toFixed(1) + ' s';
  }
  function pct(v) {
    return v > 0 ? (v * 100).toFixed(v < 0.1 ? 1 : 0) + '%' : '0';
  }

  // ---- topology ----
  function drawTopology(s) {
    var svg = document.getElementById('topology');
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var defs = sv('defs');
    var marker = sv('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '10', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' });
    marker.appendChild(sv('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#4a6fa5' }));
    defs.appendChild(marker);
    svg.appendChild(defs);
    var W = 1000, H = 560, n = s.agents.length;
    var pos = {};
    var boxW = 210;
    s.agents.forEach(function (a, i) {
      var angle = (2 * Math.PI * i) / Math.max(n, 1) - Math.PI / 2;
      var rx = n > 1 ? 340 : 0, ry = n > 1 ? 190 : 0;
      var lines = Math.min(a.targets.length, 6);
      var h = 52 + lines * 15 + (a.targets.length > 6 ? 15 : 0);
      pos[a.agent_id] = { x: W / 2 + rx * Math.cos(angle), y: H / 2 + ry * Math.sin(angle), h: h };
    });
    var edgeLayer = sv('g');
    svg.appendChild(edgeLayer);
    s.edges.forEach(function (e) {
      var a = pos[e.from], b = pos[e.to];
      var cls = 'edge' + (e.error_rate > 0 ? ' failing' : '') + (e.requests === 0 ? ' idle' : '');
      var g = sv('g', { class: cls, 'data-edge': e.from + '>' + e.to + ':' + e.target });
      var label = e.target + ' ' + rate(e.rate) + '/s' + (e.error_rate > 0 ? ' · ' + pct(e.error_rate) + ' err' : '');
      if (!a || !b) return;
      if (e.from === e.to) {
        var x = a.x + boxW / 2, y = a.y - a.h / 2 + 10;
        g.appendChild(sv('path', { d: 'M ' + x + ' ' + y + ' c 50 -30 50 40 0 20' }));
        g.appendChild(sv('text', { x: x + 48, y: y + 6 }, label));
      } else {
        // From border to border of the two boxes, along the line between their centres.
        var dx = b.x - a.x, dy = b.y - a.y, len = Math.sqrt(dx * dx + dy * dy) || 1;
        var cut = function (p) {
          var tx = boxW / 2 / Math.abs(dx / len || 1e-9), ty = p.h / 2 / Math.abs(dy / len || 1e-9);
          return Math.min(tx, ty) + 4;
        };
        var ca = cut(a), cb = cut(b);
        var x1 = a.x + (dx / len) * ca, y1 = a.y + (dy / len) * ca, x2 = b.x - (dx / len) * cb, y2 = b.y - (dy / len) * cb;
        g.appendChild(sv('line', { x1: x1, y1: y1, x2: x2, y2: y2 }));
        var sameDir = s.edges.filter(function (o) { return o.from === e.from && o.to === e.to; });
        var k = sameDir.indexOf(e);
        g.appendChild(sv('text', { x: (x1 + x2) / 2 + 6, y: (y1 + y2) / 2 - 4 + k * 13 }, label));
      }
      edgeLayer.appendChild(g);
    });
    s.agents.forEach(function (a) {
      var p = pos[a.agent_id];
      var allStale = a.instances.every(function (i) { return i.health === 'stale'; });
      var g = sv('g', { class: 'node' + (allStale ? ' stale' : ''), 'data-agent': a.agent_id, transform: 'translate(' + (p.x - boxW / 2) + ',' + (p.y - p.h / 2) + ')' });
      g.appendChild(sv('rect', { width: boxW, height: p.h, rx: 6 }));
      var versions = a.instances.map(function (i) { return i.version; }).filter(function (v, i, all) { return all.indexOf(v) === i; });
      g.appendChild(sv('text', { class: 'title', x: 10, y: 18 }, a.agent_id + '  v' + versions.join(', ')));
      a.instances.forEach(function (inst, i) {
        var c = sv('circle', { class: 'instance ' + inst.health, 'data-instance': inst.id, 'data-health': inst.health, cx: 16 + i * 16, cy: 32, r: 6 });
        c.appendChild(sv('title', {}, inst.id + ' (' + inst.health + ')'));
        g.appendChild(c);
      });
      g.appendChild(sv('text', { x: 16 + a.instances.length * 16, y: 36, class: 'target' }, a.instances.length + (a.instances.length === 1 ? ' instance' : ' instances')));
      a.targets.slice(0, 6).forEach(function (t, i) {
        g.appendChild(sv('text', { class: 'target', x: 10, y: 58 + i * 15 }, (t.kind === 'stream' ? '≋ ' : '→ ') + t.target));
      });
      if (a.targets.length > 6) g.appendChild(sv('text', { class: 'target', x: 10, y: 58 + 6 * 15 }, '… ' + (a.targets.length - 6) + ' more'));
      svg.appendChild(g);
    });
    drawInstances(s);
    var body = document.querySelector('#edges tbody');
    body.textContent = '';
    s.edges.forEach(function (e) {
      var tr = el('tr', { 'data-edge': e.from + '>' + e.to + ':' + e.target, class: e.error_rate > 0 ? 'failing' : '' });
      [e.from, e.to, e.target, rate(e.rate), pct(e.error_rate), String(e.requests)].forEach(function (v) { tr.appendChild(el('td', {}, v)); });
      body.appendChild(tr);
    });
  }

  function drawInstances(s) {
    var body = document.querySelector('#instances tbody');
    body.textContent = '';
    s.agents.forEach(function (a) {
      a.instances.forEach(function (inst) {
        var tr = el('tr', { 'data-instance': inst.id, 'data-health': inst.health, class: inst.health });
        [a.agent_id, inst.id, inst.version, inst.health, String(inst.requests)].forEach(function (v, i) {
          tr.appendChild(el('td', { class: ['agent', 'id', 'version', 'health', 'requests'][i] }, v));
        });
        var td = el('td');
        if (inst.health !== 'stale') {
          var verb = inst.health === 'drained' ? 'resume' : 'drain';
          var b = el('button', { class: verb, type: 'button' }, verb);
          b.onclick = function () {
            b.disabled = true;
            fetch(api('instances/' + encodeURIComponent(inst.id) + '/' + verb), { method: 'POST', headers: authHeaders() })
              .then(function (r) { return r.json(); })
              .then(function (r) { if (r.error) alert(r.error.message); });
          };
          td.appendChild(b);
        }
        tr.appendChild(td);
        body.appendChild(tr);
      });
    });
  }

  // ---- traffic ----
  function spark(series) {
    var svg = sv('svg', { class: 'spark', viewBox: '0 0 160 24', preserveAspectRatio: 'none' });
    var max = Math.max.apply(null, series.map(function (p) { return p.rate; }).concat([0.001]));
    var pts = series.map(function (p, i) {
      return ((i / Math.max(series.length - 1, 1)) * 160).toFixed(1) + ',' + (23 - (p.rate / max) * 22).toFixed(1);
    });
    svg.appendChild(sv('polyline', { points: pts.join(' ') }));
    return svg;
  }
  function drawTraffic(s) {
    var body = document.querySelector('#traffic tbody');
    body.textContent = '';
    s.traffic.forEach(function (t) {
      var tr = el('tr', { 'data-target': t.target, 'data-agent': t.agent_id, class: t.error_rate > 0 ? 'failing' : '' });
      [t.agent_id, t.target, t.kind, rate(t.rate), ms(t.p50), ms(t.p99), pct(t.error_rate), String(t.requests)].forEach(function (v, i) {
        tr.appendChild(el('td', { class: ['agent', 'target', 'kind', 'rate', 'p50', 'p99', 'errors', 'calls'][i] }, v));
      });
      var td = el('td');
      td.appendChild(spark(t.series));
      tr.appendChild(td);
      body.appendChild(tr);
    });
  }

  // ---- tasks ----
  var taskTimer;
  function loadTasks() {
    clearTimeout(taskTimer);
    var q = new URLSearchParams();
    var st = document.getElementById('task-state').value;
    var tg = document.getElementById('task-target').value.trim();
    if (st) q.set('state', st);
    if (tg) q.set('target', tg);
    fetch(api('tasks?' + q.toString()), { headers: authHeaders() })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (r) {
        var note = document.getElementById('tasks-note');
        if (!r.ok) { note.textContent = (r.body.error && r.body.error.message) || 'tasks unavailable'; return; }
        note.textContent = r.body.tasks.length ? '' : 'no tasks' + (st || tg ? ' match' : ' yet');
        drawTasks(r.body.tasks);
      })
      .catch(function () {})
      .then(function () { taskTimer = setTimeout(loadTasks, 1000); });
  }
  var TERMINAL = ['completed', 'failed', 'canceled', 'rejected'];
  function drawTasks(tasks) {
    var body = document.querySelector('#tasks tbody');
    body.textContent = '';
    tasks.forEach(function (t) {
      var tr = el('tr', { 'data-task': t.id, 'data-state': t.state });
      tr.appendChild(el('td', { title: t.id }, t.id.slice(-8)));
      tr.appendChild(el('td', {}, t.target));
      tr.appendChild(el('td', { class: 'state state-' + t.state }, t.state + (t.cancel_requested && TERMINAL.indexOf(t.state) < 0 ? ' (cancelling)' : '')));
      tr.appendChild(el('td', { class: 'attempts' }, String(t.attempts)));
      tr.appendChild(el('td', { class: 'progress' }, t.seq + ' frames, ' + t.artifact_chars + ' chars' + (t.status_message ? ' · ' + t.status_message : '') + (t.error ? ' · ' + t.error : '')));
      tr.appendChild(el('td', {}, t.session_id || ''));
      tr.appendChild(el('td', {}, new Date(t.updated_at).toLocaleTimeString()));
      var td = el('td');
      if (TERMINAL.indexOf(t.state) < 0) {
        var b = el('button', { class: 'cancel', type: 'button' }, 'cancel');
        b.onclick = function () {
          b.disabled = true;
          fetch(api('tasks/' + encodeURIComponent(t.id) + '/cancel'), { method: 'POST', headers: authHeaders() }).then(loadTasks, loadTasks);
        };
        td.appendChild(b);
      }
      tr.appendChild(td);
      body.appendChild(tr);
    });
  }
  document.getElementById('task-state').onchange = loadTasks;
  document.getElementById('task-target').oninput = loadTasks;
  document.getElementById('task-filter').onsubmit = function (e) { e.preventDefault(); loadTasks(); };

  // ---- conversations ----
  function searchConversations() {
    var q = new URLSearchParams();
    var sid = document.getElementById('conv-session').value.trim();
    var tid = document.getElementById('conv-trace').value.trim();
    if (sid) q.set('session_id', sid);
    if (tid) q.set('trace_id', tid);
    q.set('minutes', document.getElementById('conv-minutes').value);
    var note = document.getElementById('conv-note');
    note.textContent = 'searching…';
    return fetch(api('conversations?' + q.toString()), { headers: authHeaders() })
      .then(function (r) { return r.json(); })
      .then(function (b) {
        if (b.error) { note.textContent = b.error.message; return; }
        note.textContent = b.conversations.length ? '' : 'no conversation found (spans are kept a while, per process)';
        var body = document.querySelector('#conversations tbody');
        body.textContent = '';
        b.conversations.forEach(function (c) {
          var tr = el('tr', { 'data-trace': c.trace_id, class: c.errors ? 'failing' : '' });
          [new Date(c.start).toLocaleTimeString(), c.trace_id.slice(0, 12) + '…', c.session_id || '', c.agents.join(', '), String(c.spans), ms(c.duration_ms), String(c.errors)].forEach(function (v) {
            tr.appendChild(el('td', {}, v));
          });
          var td = el('td');
          if (c.trace_url) {
            var a = el('a', { href: c.trace_url, target: '_blank', rel: 'noopener' }, 'in the trace backend');
            a.onclick = function (e) { e.stopPropagation(); };
            td.appendChild(a);
          }
          tr.appendChild(td);
          tr.onclick = function () { showConversation(c.trace_id); };
          body.appendChild(tr);
        });
      });
  }
  function showConversation(traceId) {
    [].forEach.call(document.querySelectorAll('#conversations tbody tr'), function (tr) {
      tr.classList.toggle('selected', tr.getAttribute('data-trace') === traceId);
    });
    return fetch(api('conversations/' + traceId), { headers: authHeaders() })
      .then(function (r) { return r.json(); })
      .then(function (b) {
        var box = document.getElementById('timeline');
        box.textContent = '';
        if (b.error) { box.textContent = b.error.message; return; }
        box.setAttribute('data-trace', traceId);
        var t0 = b.summary.start, total = Math.max(b.summary.duration_ms, 0.001);
        box.appendChild(el('h3', {}, 'trace ' + traceId + (b.summary.session_id ? ' · session ' + b.summary.session_id : '') + ' · ' + ms(total) + ', ' + b.spans.length + ' hops'));
        b.spans.forEach(function (s) {
          var row = el('div', { class: 'hop' + (s.error ? ' error' : ''), 'data-span': s.span_id, 'data-agent': s.agent || '', 'data-name': s.name });
          row.appendChild(el('span', { class: 'agent' }, s.agent || s.service || ''));
          row.appendChild(el('span', { class: 'name', title: s.error || s.name }, s.name + (s.error ? ' — ' + s.error : '')));
          row.appendChild(el('span', { class: 'duration' }, ms(s.duration_ms)));
          var bar = el('span', { class: 'bar' });
          var fill = el('span');
          fill.style.left = (((s.start - t0) / total) * 100).toFixed(2) + '%';
          fill.style.width = Math.max((s.duration_ms / total) * 100, 0.3).toFixed(2) + '%';
          bar.appendChild(fill);
          row.appendChild(bar);
          box.appendChild(row);
        });
      });
  }
  document.getElementById('conv-search').onsubmit = function (e) { e.preventDefault(); searchConversations(); };

  // ---- the feed ----
  function connect() {
    var state = document.getElementById('feed-state');
    var es = new EventSource(api('events') + (token ? '?access_token=' + encodeURIComponent(token) : ''));
    es.addEventListener('snapshot', function (ev) {
      var s = JSON.parse(ev.data);
      state.textContent = 'live';
      state.className = 'pill live';
      document.getElementById('swept').textContent = 'swept ' + new Date(s.at).toLocaleTimeString() + ', every ' + s.refresh_ms / 1000 + ' s';
      window.consoleSnapshot = s;
      drawTopology(s);
      drawTraffic(s);
    });
    es.onerror = function () {
      state.textContent = 'offline';
      state.className = 'pill offline';
    };
  }
  connect();
  loadTasks();
})();
`;
