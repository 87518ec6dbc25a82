// The console page's script (served as `/<path>/console.js`): plain JavaScript, no build step. It has no backticks or
// dollar-brace sequences, so it can sit in this template literal.
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
  // The API's answer with its status; an error body is an acp/1.0 ErrorPayload ({ code, message }).
  function call(path, init) {
    return fetch(api(path), Object.assign({ headers: authHeaders() }, init || {})).then(function (r) {
      return r.json().then(
        function (body) { return { ok: r.ok, body: body }; },
        function () { return { ok: false, body: { message: 'HTTP ' + r.status } }; }
      );
    });
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
            call('instances/' + encodeURIComponent(inst.id) + '/' + verb, { method: 'POST' }).then(function (r) {
              if (!r.ok) alert(r.body.message);
            });
          };
          td.appendChild(b);
        }
        tr.appendChild(td);
        body.appendChild(tr);
      });
    });
  }

  // ---- traffic ----
  // A line of one field of the series; points without it (no timed call then) are left out.
  function spark(series, field) {
    var svg = sv('svg', { class: 'spark ' + field, viewBox: '0 0 160 24', preserveAspectRatio: 'none' });
    var max = Math.max.apply(null, series.map(function (p) { return p[field] || 0; }).concat([0.001]));
    var pts = [];
    series.forEach(function (p, i) {
      if (p[field] === undefined || p[field] === null) return;
      pts.push(((i / Math.max(series.length - 1, 1)) * 160).toFixed(1) + ',' + (23 - (p[field] / max) * 22).toFixed(1));
    });
    svg.appendChild(sv('polyline', { points: pts.join(' ') }));
    svg.appendChild(sv('title', {}, field === 'rate' ? 'calls/s, peak ' + rate(max) : 'p99, peak ' + ms(max)));
    return svg;
  }
  function drawTraffic(s) {
    var body = document.querySelector('#traffic tbody');
    body.textContent = '';
    // Targets called within the window first (in the server's order), then the idle ones.
    var busy = s.traffic.filter(function (t) { return t.series.length > 0; });
    var idle = s.traffic.filter(function (t) { return t.series.length === 0; });
    busy.concat(idle).forEach(function (t) {
      var tr = el('tr', { 'data-target': t.target, 'data-agent': t.agent_id, class: t.error_rate > 0 ? 'failing' : '' });
      [t.agent_id, t.target, t.kind, rate(t.rate), ms(t.p50), ms(t.p99), pct(t.error_rate), String(t.requests)].forEach(function (v, i) {
        tr.appendChild(el('td', { class: ['agent', 'target', 'kind', 'rate', 'p50', 'p99', 'errors', 'calls'][i] }, v));
      });
      ['rate', 'p99'].forEach(function (field) {
        var td = el('td');
        td.appendChild(spark(t.series, field));
        tr.appendChild(td);
      });
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
    call('tasks?' + q.toString())
      .then(function (r) {
        var note = document.getElementById('tasks-note');
        if (!r.ok) { note.textContent = r.body.message || 'tasks unavailable'; return; }
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
          call('tasks/' + encodeURIComponent(t.id) + '/cancel', { method: 'POST' }).then(function (r) {
            if (!r.ok) document.getElementById('tasks-note').textContent = r.body.message;
            loadTasks();
          }, loadTasks);
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
    return call('conversations?' + q.toString())
      .then(function (r) {
        var b = r.body;
        if (!r.ok) { note.textContent = b.message; return; }
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
    return call('conversations/' + traceId)
      .then(function (r) {
        var b = r.body;
        var box = document.getElementById('timeline');
        box.textContent = '';
        if (!r.ok) { box.textContent = b.message; return; }
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
