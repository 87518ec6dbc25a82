// OpenAgentIO demo page: no build step. Talks to the gateway:
//   POST   /v1/agents/{target}/streams   start an answer        → {stream_id, target, events_url} (target: where the
//                                          gateway sent the turn; after a handoff, the session's active agent)
//   GET    /v1/streams/{id}              EventSource of its frames (resumes with Last-Event-ID)
//   DELETE /v1/streams/{id}              stop the answer (the agent's handler is aborted)
//   GET    /v1/events?pattern=…&session_id=…   EventSource of the session's events
//   POST   /v1/agents/report.build/tasks, GET /v1/tasks/{id}/events, DELETE /v1/tasks/{id}   the report task
//                                          (report-task.js)
// Page parameters: ?target=triage&events=demo.>&token=<bearer token>
// Each turn sends its own W3C traceparent, so every agent of the turn shares one trace id the page can show, and the
// conversation so far (`messages`), which a handoff passes on by its history policy.
import { reportTaskPanel } from './report-task.js';
import { Timeline } from './timeline.js';

const params = new URLSearchParams(location.search);
const target = params.get('target') || 'triage';
const eventPattern = params.get('events') || 'demo.>';
const token = params.get('token') || '';
const sessionId = (crypto.randomUUID && crypto.randomUUID()) || String(Date.now());

const $ = (id) => document.getElementById(id);
const answer = $('answer');
const statusEl = $('status');
const sendBtn = $('send');
const stopBtn = $('stop');
const errorEl = $('error');
$('session').textContent = sessionId;
$('target').textContent = target;

const timeline = new Timeline($('turns'));
/** The conversation so far, as chat messages. */
const history = [];
let turn = null;

/** Test and debugging hooks. */
const demo = (window.demo = { sessionId, frames: [], events: [], opens: 0, streamId: null, timeline });

/** A fresh W3C trace context for one turn: 32 + 16 random hex digits. */
function newTraceparent() {
  const hex = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `00-${hex(16)}-${hex(8)}-01`;
}

function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusEl.textContent = text || state;
}

function headers(extra = {}) {
  const h = { 'content-type': 'application/json', 'x-session-id': sessionId, 'x-channel': 'web-demo', ...extra };
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

function withToken(url) {
  if (!token) return url;
  return url + (url.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(token);
}

async function errorText(res) {
  try {
    const body = await res.json();
    return `${body.code || res.status}: ${body.message || res.statusText}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

// ---------------------------------------------------------------- the answer stream
let source = null;
let seen = new Set();

function closeSource() {
  if (source) source.close();
  source = null;
  stopBtn.disabled = true;
  sendBtn.disabled = false;
}

async function ask(text) {
  if (turn && turn.status === 'running') turn.stopped();
  turn = null;
  closeSource();
  answer.textContent = '';
  errorEl.hidden = true;
  seen = new Set();
  sendBtn.disabled = true;
  setStatus('starting', 'starting…');
  const traceparent = newTraceparent();
  history.push({ role: 'user', content: text });
  let res;
  try {
    res = await fetch(`/v1/agents/${encodeURIComponent(target)}/streams`, {
      method: 'POST',
      headers: headers({ traceparent }),
      body: JSON.stringify({ topic: text, text, messages: history }),
    });
  } catch (err) {
    return fail(`network error: ${err.message}`);
  }
  if (!res.ok) return fail(await errorText(res));
  const { stream_id, events_url, target: served } = await res.json();
  demo.streamId = stream_id;
  turn = timeline.startTurn({ requested: target, served: served || target, session: sessionId, traceId: traceparent.split('-')[1], text });
  stopBtn.disabled = false;
  setStatus('streaming', 'streaming…');
  // EventSource reconnects by itself after a dropped connection and sends Last-Event-ID, so the gateway
  // replays the frames this page missed; `seen` guards against a frame arriving twice.
  source = new EventSource(withToken(events_url));
  source.onopen = () => demo.opens++;
  const onFrame = (e) => {
    if (seen.has(e.lastEventId)) return;
    seen.add(e.lastEventId);
    const env = JSON.parse(e.data);
    demo.frames.push(env);
    turn?.frame(env);
    switch (env.event_type) {
      case 'agent.response.delta': {
        const p = env.payload || {};
        if (typeof p.delta === 'string') answer.textContent += p.delta;
        break;
      }
      case 'agent.response.final': {
        const r = env.payload && env.payload.result;
        if (!answer.textContent && r !== undefined) answer.textContent = typeof r === 'string' ? r : r.text || JSON.stringify(r);
        history.push({ role: 'assistant', content: answer.textContent });
        setStatus('done', 'done');
        closeSource();
        break;
      }
      case 'agent.response.error': {
        const p = env.payload || {};
        if (p.cause && p.cause.reason === 'cancelled') setStatus('stopped', 'stopped');
        else fail(`${p.code}: ${p.message}`);
        closeSource();
        break;
      }
    }
  };
  for (const t of ['agent.response.started', 'agent.response.delta', 'agent.response.final', 'agent.response.error']) {
    source.addEventListener(t, onFrame);
  }
  source.onerror = () => {
    if (source && source.readyState === EventSource.CLOSED) {
      fail('connection closed');
      closeSource();
    }
  };
}

function fail(message) {
  turn?.failed();
  errorEl.textContent = message;
  errorEl.hidden = false;
  setStatus('error', 'error');
  closeSource();
}

async function stop() {
  const id = demo.streamId;
  if (!id) return;
  stopBtn.disabled = true;
  const res = await fetch(`/v1/streams/${encodeURIComponent(id)}`, { method: 'DELETE', headers: headers() });
  if (res.ok || res.status === 404) {
    turn?.stopped();
    setStatus('stopped', 'stopped');
    closeSource();
  } else {
    errorEl.textContent = await errorText(res);
    errorEl.hidden = false;
  }
}

$('ask').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('message').value.trim();
  if (text) ask(text);
});
$('message').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('ask').requestSubmit();
  }
});
stopBtn.addEventListener('click', stop);

// ---------------------------------------------------------------- the session's events
const eventsList = $('events');
const eventsState = $('events-state');
const eventSource = new EventSource(withToken(`/v1/events?pattern=${encodeURIComponent(eventPattern)}&session_id=${encodeURIComponent(sessionId)}&named=false`));
// named=false: the gateway leaves out the SSE `event:` field, so every event type reaches onmessage.
const seenEvents = new Set();
eventSource.onopen = () => {
  eventsState.textContent = 'live';
  demo.eventOpens = (demo.eventOpens || 0) + 1;
};
eventSource.onerror = () => {
  eventsState.textContent = eventSource.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting…';
};
eventSource.onmessage = (e) => showEvent(e);

function showEvent(e) {
  if (seenEvents.has(e.lastEventId)) return;
  seenEvents.add(e.lastEventId);
  const env = JSON.parse(e.data);
  demo.events.push(env);
  const li = document.createElement('li');
  const time = new Date(env.occurred_at).toLocaleTimeString();
  li.innerHTML = `<code></code> <span class="t"></span><div class="p"></div>`;
  li.querySelector('code').textContent = env.event_type;
  li.querySelector('.t').textContent = time;
  li.querySelector('.p').textContent = env.payload === undefined ? '' : JSON.stringify(env.payload);
  li.dataset.eventType = env.event_type;
  eventsList.prepend(li);
}

// ---------------------------------------------------------------- the report task
demo.task = reportTaskPanel({ $, headers, withToken, errorText });
