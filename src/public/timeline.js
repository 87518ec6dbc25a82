// The call tree of each turn, drawn live from the frames of the turn's stream (no extra endpoint):
//  - the agent the turn went to (the started frame says which: after a handoff the gateway sends the session's
//    turns to the agent it was handed to);
//  - timeline steps the triage agent streams as data deltas {"data":{"step":{id, agent, kind, mode, status,
//    started_at, duration_ms, trace_id}}}: its fan-out branches side by side (mode "parallel") and the writer after them
//    ("sequence");
//  - a handoff marker {"data":{"handoff":{from, to, reason, depth, chain}}} (docs/PROTOCOL-EXTENSIONS.md §10): an
//    arrow, then the agent handed to, running until the final frame;
//  - the final or error frame ends what is still running; Stop marks it stopped.
// Times come from the frames' occurred_at (the server's clock), relative to the turn's first frame.

const STATUS_TEXT = { running: 'running…', ok: 'ok', error: 'failed', 'timed-out': 'timed out', cancelled: 'cancelled', stopped: 'stopped' };

export class Timeline {
  constructor(container) {
    this.container = container;
    this.turns = [];
  }

  /** A new turn, shown at the top. */
  startTurn({ requested, served, session, traceId, text }) {
    const turn = new Turn(this.turns.length + 1, { requested, served, session, traceId, text });
    this.turns.push(turn);
    this.container.prepend(turn.el);
    return turn;
  }
}

class Turn {
  constructor(n, info) {
    this.n = n;
    this.info = info;
    this.rows = new Map();
    this.t0 = undefined;
    this.clientT0 = Date.now();
    this.status = 'running';
    this.el = document.createElement('article');
    this.el.className = 'turn';
    this.el.dataset.turn = String(n);
    this.el.dataset.served = info.served;
    this.el.dataset.status = 'running';
    this.el.innerHTML = `
      <header>
        <strong>Turn ${n}</strong> <span class="served"></span> <span class="turn-status"></span>
        <div class="ids">session <code class="session"></code> · trace <code class="trace"></code></div>
        <div class="question"></div>
      </header>
      <ol class="calls"></ol>`;
    const redirected = info.served !== info.requested;
    this.el.querySelector('.served').textContent = redirected
      ? `→ ${info.served} (this session's active agent since a handoff; addressed to ${info.requested})`
      : `→ ${info.served}`;
    this.el.querySelector('.session').textContent = info.session;
    this.el.querySelector('.trace').textContent = info.traceId;
    this.el.querySelector('.question').textContent = `“${info.text}”`;
    this.list = this.el.querySelector('.calls');
    this.setStatus('running');
    this.timer = setInterval(() => this.draw(), 100);
  }

  setStatus(status) {
    this.status = status;
    this.el.dataset.status = status;
    this.el.querySelector('.turn-status').textContent = STATUS_TEXT[status] || status;
  }

  /** Milliseconds of an envelope's occurred_at after the turn's first frame. */
  at(env) {
    const t = Date.parse(env.occurred_at);
    if (this.t0 === undefined) this.t0 = t;
    return Math.max(0, t - this.t0);
  }

  frame(env) {
    const at = this.at(env);
    if (env.trace_id && env.trace_id !== this.info.traceId) this.el.dataset.traceMismatch = env.trace_id;
    switch (env.event_type) {
      case 'agent.response.started': {
        const meta = (env.payload && env.payload.meta) || {};
        this.upsert({ id: 'entry', agent: meta.target || this.info.served, kind: 'stream', mode: 'entry', status: 'running', at_ms: at });
        break;
      }
      case 'agent.response.delta': {
        const data = env.payload && env.payload.data;
        if (data && data.step) this.upsert({ ...data.step, at_ms: Math.max(0, data.step.started_at - this.t0) });
        else if (data && data.handoff) {
          const h = data.handoff;
          this.upsert({
            id: `handoff/${h.depth}`,
            agent: `${h.from} → ${h.to}`,
            kind: 'handoff',
            mode: 'handoff',
            status: 'ok',
            at_ms: at,
            duration_ms: 0,
            note: h.reason ? `handoff: ${h.reason}` : 'handoff',
          });
          // The previous agent handed over: what it ran is done; the next one runs until the final frame.
          for (const r of this.rows.values()) if (r.step.mode === 'handed' && r.step.status === 'running') this.end(r.step.id, 'ok', at);
          this.upsert({ id: `handed/${h.depth}`, agent: h.to, kind: 'stream', mode: 'handed', status: 'running', at_ms: at });
        }
        break;
      }
      case 'agent.response.final':
        this.finish('ok', at);
        break;
      case 'agent.response.error': {
        const p = env.payload || {};
        this.finish(p.cause && p.cause.reason === 'cancelled' ? 'stopped' : 'error', at);
        break;
      }
    }
  }

  /** Stop was pressed: whatever runs is stopped (the error frame may never come once the page detaches). */
  stopped() {
    this.finish('stopped', Date.now() - this.clientT0);
  }

  failed() {
    this.finish('error', Date.now() - this.clientT0);
  }

  finish(status, at) {
    if (this.status !== 'running') return;
    for (const r of this.rows.values()) if (r.step.status === 'running') this.end(r.step.id, status, at);
    this.setStatus(status);
    clearInterval(this.timer);
    this.draw();
  }

  end(id, status, at) {
    const r = this.rows.get(id);
    if (!r) return;
    this.upsert({ ...r.step, status, duration_ms: Math.max(0, at - r.step.at_ms) });
  }

  upsert(step) {
    let r = this.rows.get(step.id);
    if (!r) {
      const li = document.createElement('li');
      li.className = 'call';
      li.innerHTML = `<span class="agent"></span> <span class="mode"></span> <span class="kind"></span>
        <span class="track"><span class="bar"></span></span> <span class="duration"></span> <span class="status"></span>
        <span class="same-trace" title="the agent saw this turn's trace id"></span> <div class="call-note"></div>`;
      this.list.append(li);
      r = { li, step };
      this.rows.set(step.id, r);
    }
    r.step = { ...r.step, ...step };
    const s = r.step;
    const li = r.li;
    li.dataset.id = s.id;
    li.dataset.agent = s.agent;
    li.dataset.mode = s.mode;
    li.dataset.status = s.status;
    li.querySelector('.agent').textContent = s.agent;
    li.querySelector('.mode').textContent =
      { entry: 'turn', parallel: 'parallel', sequence: 'in sequence', handoff: 'handoff', handed: 'took over' }[s.mode] || s.mode;
    li.querySelector('.kind').textContent = s.kind === 'handoff' ? '' : s.kind;
    li.querySelector('.status').textContent = STATUS_TEXT[s.status] || s.status;
    li.querySelector('.call-note').textContent = s.note || s.error || '';
    li.querySelector('.same-trace').textContent = s.trace_id ? (s.trace_id === this.info.traceId ? '✓ trace' : `✗ ${s.trace_id}`) : '';
    this.draw();
  }

  /** Bars on one time scale: the longest of what ended and what is still running. */
  draw() {
    const now = Date.now() - this.clientT0;
    let total = 1;
    for (const { step } of this.rows.values()) total = Math.max(total, step.at_ms + (step.duration_ms ?? Math.max(0, now - step.at_ms)));
    for (const { li, step } of this.rows.values()) {
      const dur = step.duration_ms ?? Math.max(0, now - step.at_ms);
      const bar = li.querySelector('.bar');
      bar.style.left = `${(100 * step.at_ms) / total}%`;
      bar.style.width = `${Math.max(0.8, (100 * dur) / total)}%`;
      li.querySelector('.duration').textContent = step.duration_ms === undefined ? '' : `${step.duration_ms} ms`;
      li.dataset.durationMs = step.duration_ms === undefined ? '' : String(step.duration_ms);
    }
  }
}
