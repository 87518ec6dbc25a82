// The "Report task" panel: an async task (docs/tasks.md) followed from the page. Talks to the gateway:
//   POST   /v1/agents/report.build/tasks   submit                     → 202 with the task record (stored, not yet run)
//   GET    /v1/tasks/{id}/events           EventSource of its frames  (`id:` = the frame's seq; after a dropped
//                                           connection the browser sends Last-Event-ID and the gateway resumes after it)
//   DELETE /v1/tasks/{id}                  cancel                     (the worker's handler is aborted: `canceled`)
// The panel shows the task id, its state, the attempt (2 after a worker was lost mid-task), the latest status message,
// the report artifact as it grows, the seq of the last frame, and every frame in a short log.

const FRAME_TYPES = ['agent.task.created', 'agent.task.status', 'agent.task.artifact', 'agent.task.message', 'agent.task.completed'];
const ENDED = new Set(['completed', 'failed', 'canceled', 'rejected']);

/**
 * @param {object} o
 * @param {(id: string) => HTMLElement} o.$          element by id
 * @param {(extra?: object) => object} o.headers     request headers (session, channel, bearer token)
 * @param {(url: string) => string} o.withToken      the URL with the access token, for EventSource
 * @param {(message: string) => string} o.errorText  an error response as text
 */
export function reportTaskPanel({ $, headers, withToken, errorText }) {
  const submitBtn = $('task-submit');
  const cancelBtn = $('task-cancel');
  const idEl = $('task-id');
  const stateEl = $('task-state');
  const attemptEl = $('task-attempt');
  const seqEl = $('task-seq');
  const messageEl = $('task-message');
  const artifactEl = $('task-artifact');
  const framesEl = $('task-frames');
  const errorEl = $('task-error');
  const connEl = $('task-connection');

  /** Test and debugging hooks: the current task's frames (in arrival order) and how often its EventSource opened. */
  const state = { id: null, frames: [], opens: 0, state: null };
  let source = null;
  let seen = new Set();
  /** The task's artifacts by id, their chunks joined. */
  let artifacts = new Map();

  function setState(s) {
    state.state = s;
    stateEl.dataset.state = s;
    stateEl.textContent = s;
    cancelBtn.disabled = !state.id || ENDED.has(s);
  }

  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = !text;
  }

  function close() {
    if (source) source.close();
    source = null;
    submitBtn.disabled = false;
  }

  function renderArtifacts() {
    artifactEl.textContent = [...artifacts.values()].map((a) => (typeof a.data === 'string' ? a.data : JSON.stringify(a.data))).join('\n');
    artifactEl.dataset.complete = String([...artifacts.values()].some((a) => a.last_chunk));
    artifactEl.scrollTop = artifactEl.scrollHeight;
  }

  function logFrame(env) {
    const p = env.payload || {};
    const li = document.createElement('li');
    li.dataset.eventType = env.event_type;
    li.dataset.seq = String(env.seq ?? 0);
    let detail = '';
    if (env.event_type === 'agent.task.status') detail = [p.state, p.attempt ? `attempt ${p.attempt}` : '', p.message || ''].filter(Boolean).join(' · ');
    else if (env.event_type === 'agent.task.artifact') detail = `${p.artifact?.append ? '+' : ''}${String(p.artifact?.data ?? '').length} chars`;
    else if (env.event_type === 'agent.task.completed') detail = p.error ? `${p.state} · ${p.error.code}: ${p.error.message}` : p.state;
    else if (env.event_type === 'agent.task.created') detail = 'submitted';
    else if (env.event_type === 'agent.task.message') detail = 'input';
    li.innerHTML = '<span class="seq"></span> <code></code> <span class="detail"></span>';
    li.querySelector('.seq').textContent = String(env.seq ?? 0);
    li.querySelector('code').textContent = env.event_type.replace('agent.task.', '');
    li.querySelector('.detail').textContent = detail;
    framesEl.append(li);
    framesEl.scrollTop = framesEl.scrollHeight;
  }

  function onFrame(e) {
    // The browser resends Last-Event-ID on reconnect, so nothing should come twice; the guard is for safety.
    if (seen.has(e.lastEventId)) return;
    seen.add(e.lastEventId);
    const env = JSON.parse(e.data);
    if (env.correlation_id !== state.id) return;
    state.frames.push(env);
    seqEl.textContent = String(env.seq ?? 0);
    logFrame(env);
    const p = env.payload || {};
    switch (env.event_type) {
      case 'agent.task.created':
        setState(p.task?.state || 'submitted');
        break;
      case 'agent.task.status':
        setState(p.state);
        if (p.attempt) attemptEl.textContent = String(p.attempt);
        if (p.message) messageEl.textContent = p.message;
        break;
      case 'agent.task.artifact': {
        const a = p.artifact || {};
        const prev = artifacts.get(a.artifact_id);
        // A chunk with `append` extends the artifact; one without replaces it (a new attempt starts it again).
        if (prev && a.append) {
          prev.data = typeof prev.data === 'string' && typeof a.data === 'string' ? prev.data + a.data : a.data;
          prev.last_chunk = a.last_chunk;
        } else artifacts.set(a.artifact_id, { ...a });
        renderArtifacts();
        break;
      }
      case 'agent.task.message':
        setState(p.state || 'submitted');
        break;
      case 'agent.task.completed':
        setState(p.state);
        if (p.error) showError(`${p.error.code}: ${p.error.message}`);
        else if (p.state === 'completed') messageEl.textContent = 'done';
        connEl.textContent = 'ended';
        close();
        break;
    }
  }

  function follow(id) {
    source = new EventSource(withToken(`/v1/tasks/${encodeURIComponent(id)}/events`));
    connEl.textContent = 'connecting…';
    source.onopen = () => {
      state.opens++;
      connEl.textContent = state.opens > 1 ? `live (resumed ${state.opens - 1}×)` : 'live';
    };
    source.onerror = () => {
      if (!source) return;
      // CONNECTING: the browser reconnects by itself, sending Last-Event-ID = the last seq it got.
      connEl.textContent = source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting…';
      if (source.readyState === EventSource.CLOSED && !ENDED.has(state.state)) {
        showError('the event stream closed before the task ended');
        close();
      }
    };
    for (const t of FRAME_TYPES) source.addEventListener(t, onFrame);
  }

  async function submit() {
    close();
    submitBtn.disabled = true;
    showError('');
    seen = new Set();
    artifacts = new Map();
    state.frames = [];
    state.opens = 0;
    framesEl.textContent = '';
    artifactEl.textContent = '';
    messageEl.textContent = '';
    attemptEl.textContent = '–';
    seqEl.textContent = '–';
    let res;
    try {
      res = await fetch('/v1/agents/report.build/tasks', { method: 'POST', headers: headers(), body: JSON.stringify({ topic: 'the demo bus' }) });
    } catch (err) {
      showError(`network error: ${err.message}`);
      submitBtn.disabled = false;
      return;
    }
    if (res.status !== 202) {
      showError(await errorText(res));
      submitBtn.disabled = false;
      return;
    }
    const task = await res.json();
    state.id = task.id;
    idEl.textContent = task.id;
    setState(task.state);
    follow(task.id);
  }

  async function cancel() {
    if (!state.id) return;
    cancelBtn.disabled = true;
    const res = await fetch(`/v1/tasks/${encodeURIComponent(state.id)}`, { method: 'DELETE', headers: headers() });
    // The stream's last frame says how the task ended (`canceled`, or `completed` if it finished first).
    if (!res.ok) showError(await errorText(res));
  }

  submitBtn.addEventListener('click', submit);
  cancelBtn.addEventListener('click', cancel);
  return state;
}
