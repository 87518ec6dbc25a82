import type { Envelope } from '../protocol/envelope.js';
import { unavailable } from './jetstream-retry.js';
import type { TaskEngine } from './task-engine.js';
import { isTerminalTaskState } from './task.types.js';

/** A follower that has seen nothing for this long checks the record: is the log ahead of what it received? */
export const FOLLOW_IDLE_MS = 5000;
const IDLE_TICK_MS = 1000;
/** Consecutive failures of the store under a follower before it ends with a retryable TRANSPORT_FAILURE. */
const MAX_FAILURES = 5;

/**
 * A task's frames after `afterSeq`, live, to the terminal frame, through a store that can fail under it (a
 * stream leader lost): a consumer that dies is opened again from the last seq received; one that goes quiet
 * while the record says more happened (a consumer stalled by a failover) is replaced; a task whose record ended
 * but whose log lacks the terminal frame (the record was written, the frame append failed) gets that frame
 * written from the record, so every follower ends. A store that stays down ends the iteration with a retryable
 * TRANSPORT_FAILURE: resume from the last seq (SSE: Last-Event-ID), never a hang.
 */
export async function* followTask(engine: TaskEngine, id: string, afterSeq: number, signal?: AbortSignal): AsyncIterable<Envelope> {
  let last = afterSeq;
  let failures = 0;
  let checkedSeq = -1;
  while (!signal?.aborted) {
    const ac = new AbortController();
    const stop = () => ac.abort();
    signal?.addEventListener('abort', stop, { once: true });
    let lastFrameAt = Date.now();
    let behind = false;
    const idle = setInterval(() => {
      if (Date.now() - lastFrameAt < FOLLOW_IDLE_MS) return;
      lastFrameAt = Date.now(); // one look per FOLLOW_IDLE_MS while quiet
      void engine.store.get(id).then(
        (v) => {
          // Only a change the follower has not yet looked into: a frame lost for good is looked into once.
          if (v && v.record.seq > last && v.record.seq !== checkedSeq) {
            checkedSeq = v.record.seq;
            behind = true;
            ac.abort();
          }
        },
        () => undefined,
      );
    }, IDLE_TICK_MS);
    idle.unref();
    try {
      for await (const frame of engine.store.frames(id, last, ac.signal)) {
        lastFrameAt = Date.now();
        failures = 0;
        if ((frame.seq ?? 0) <= last) continue;
        last = frame.seq ?? last;
        yield frame;
        if (frame.is_final) return;
      }
    } catch (err) {
      if (signal?.aborted) return;
      if (++failures >= MAX_FAILURES) throw unavailable(`following task ${id}`, err);
      await new Promise((r) => setTimeout(r, 250 * failures));
    } finally {
      clearInterval(idle);
      signal?.removeEventListener('abort', stop);
    }
    if (signal?.aborted) return;
    // The store's iteration ends by itself only at the terminal frame (at or before afterSeq: nothing to yield).
    if (!behind && failures === 0) return;
    if (behind) {
      const v = await engine.store.get(id);
      if (v && isTerminalTaskState(v.record.state) && v.record.seq > last) {
        // Re-appending an existing frame is a no-op (de-duplicated by its id): this writes only what is missing.
        await engine.store.appendFrame(engine.terminalFrame(v.record));
      }
    }
  }
}
