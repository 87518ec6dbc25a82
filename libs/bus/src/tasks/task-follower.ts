import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Envelope } from '../protocol/envelope.js';
import { unavailable } from './jetstream-retry.js';
import type { TaskEngine } from './task-engine.js';
import { isTerminalTaskState, TaskEventTypes, type TaskRecord } from './task.types.js';

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
 * written from the record, so every follower ends. Frames still missing after that (lost, or an append that
 * is still retrying) are reported once by a status frame carrying the record's state and an error that names the
 * gap, not met with silence; the real frames still follow if they come. A record that is gone ends the iteration
 * with NO_HANDLER, and a store that stays down with a retryable TRANSPORT_FAILURE: resume from the last seq (SSE:
 * Last-Event-ID), never a hang.
 */
export async function* followTask(engine: TaskEngine, id: string, afterSeq: number, signal?: AbortSignal): AsyncIterable<Envelope> {
  let last = afterSeq;
  let failures = 0;
  let checkedSeq = -1;
  let reportedSeq = -1;
  while (!signal?.aborted) {
    const ac = new AbortController();
    const stop = () => ac.abort();
    signal?.addEventListener('abort', stop, { once: true });
    let lastFrameAt = Date.now();
    let behind = false;
    let gone = false;
    let gap: TaskRecord | undefined;
    const idle = setInterval(() => {
      if (Date.now() - lastFrameAt < FOLLOW_IDLE_MS) return;
      lastFrameAt = Date.now(); // one look per FOLLOW_IDLE_MS while quiet
      void engine.store.get(id).then(
        (v) => {
          if (!v) {
            gone = true;
            ac.abort();
          } else if (v.record.seq > last && v.record.seq !== checkedSeq) {
            // First look: reopen the consumer (it may have stalled), repair a missing terminal frame.
            checkedSeq = v.record.seq;
            behind = true;
            ac.abort();
          } else if (v.record.seq > last && v.record.seq !== reportedSeq) {
            // Reopened, and still missing: say so, once per record change.
            reportedSeq = v.record.seq;
            gap = v.record;
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
    if (gone) throw new BusError(ErrorCodes.NO_HANDLER, `task ${id} no longer exists (its record is gone)`);
    if (gap) yield gapFrame(engine, gap, last);
    // The store's iteration ends by itself only at the terminal frame (at or before afterSeq: nothing to yield).
    if (!behind && !gap && failures === 0) return;
    if (behind) {
      const v = await engine.store.get(id);
      if (v && isTerminalTaskState(v.record.state) && v.record.seq > last) {
        // Re-appending an existing frame is a no-op (de-duplicated by its id): this writes only what is missing.
        await engine.store.appendFrame(engine.terminalFrame(v.record));
      }
    }
  }
}

/**
 * A status frame with the record's state and an error naming frames the log lacks. Its seq is the last one the
 * follower had, so the real frames are still delivered if they arrive.
 */
function gapFrame(engine: TaskEngine, record: TaskRecord, last: number): Envelope {
  const frame = engine.frame(record, TaskEventTypes.STATUS, {
    task_id: record.id,
    state: record.state,
    ...(record.status_message !== undefined ? { message: record.status_message } : {}),
    error: {
      code: ErrorCodes.TRANSPORT_FAILURE,
      message: `frames ${last + 1} to ${record.seq} of task ${record.id} are missing from its log (lost, or not written yet); the task is ${record.state}`,
      retryable: true,
    },
  });
  frame.seq = Math.max(last, 0);
  return frame;
}
