import type { BusClient } from '../bus/bus-client.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Envelope } from '../protocol/envelope.js';
import { announceTaskEnd, taskEndPayload } from './task-callback.js';
import { taskFrame } from './task-frame.js';
import type { TaskStore, VersionedTask } from './task-store.interface.js';
import { clip, isTerminalTaskState, TaskEventTypes, type TaskRecord } from './task.types.js';

/** A change to a task: the record as it should become, and the frame that tells followers. */
export interface TaskChange {
  record: TaskRecord;
  frame?: { eventType: string; payload: unknown };
}

const MAX_CAS_ATTEMPTS = 100;

/**
 * Every change to a task goes through here: read the record, let `decide` say what it becomes (or refuse),
 * compare-and-set it, then append the frame with the next seq. A lost compare-and-set reads again, so two parties
 * (a worker completing, a client cancelling) can never both end a task, and the log's terminal frame is the one
 * the record holds.
 */
export class TaskEngine {
  constructor(
    readonly store: TaskStore,
    private readonly bus: BusClient,
  ) {}

  get agentId(): string {
    return this.bus.agentId;
  }

  async load(id: string): Promise<VersionedTask> {
    const v = await this.store.get(id);
    if (!v) throw new BusError(ErrorCodes.NO_HANDLER, `no task ${clip(id)}`);
    return v;
  }

  /**
   * Applies `decide` to the current record until the compare-and-set holds. `decide` returns the change, or
   * undefined to leave the task as it is (then the current record is returned and nothing is written).
   * `known` is a record and revision the caller holds (what its own last change wrote): the first pass decides on
   * it without reading the store (and may change it: it is the caller's to give away), and a compare-and-set that
   * fails (the record changed since) reads as usual.
   * The result's `revision` is the one the stored record has now.
   */
  async change(
    id: string,
    decide: (current: TaskRecord) => TaskChange | undefined,
    known?: VersionedTask,
  ): Promise<{ record: TaskRecord; changed: boolean; revision: number }> {
    for (let i = 0; i < MAX_CAS_ATTEMPTS; i++) {
      const held = i === 0 && known !== undefined;
      const { record, revision } = held ? known : await this.load(id);
      const change = decide(held ? record : structuredClone(record));
      // "Leave it" is only an answer about the stored record: a held one may be stale, so that is read first.
      if (!change && held) continue;
      if (!change) return { record, changed: false, revision };
      const next = change.record;
      next.updated_at = new Date().toISOString();
      if (change.frame) next.seq = record.seq + 1;
      const written = await this.store.update(next, revision);
      if (written === false) continue;
      if (change.frame) await this.store.appendFrame(this.frame(next, change.frame.eventType, change.frame.payload));
      // The party whose end of the task holds announces it, once.
      if (change.frame?.eventType === TaskEventTypes.COMPLETED && next.callback) await announceTaskEnd(this.bus, this.store, next);
      return { record: next, changed: true, revision: written };
    }
    throw new BusError(ErrorCodes.TRANSPORT_FAILURE, `task ${id} kept changing under ${MAX_CAS_ATTEMPTS} attempts to update it`);
  }

  /** A frame of the task: its session and trace, correlation_id = task id, its seq; terminal frames are final. */
  frame(record: TaskRecord, eventType: string, payload: unknown): Envelope {
    return taskFrame(this.bus.agentId, record, eventType, payload);
  }

  /**
   * Writes what a dead writer left out of the log: a change stores the record, then appends its frame, so a
   * process killed between the two leaves the record's seq ahead of the log. The frame's content died with it;
   * a status frame in its place says so, which keeps the log one frame per seq for every follower. Called before
   * a run takes over a task from a worker that stopped answering, never while the run holding it is alive.
   */
  async fillLostFrames(record: TaskRecord): Promise<number> {
    const last = await this.store.lastFrameSeq(record.id);
    let filled = 0;
    for (let seq = (last ?? -1) + 1; seq <= record.seq; seq++) {
      const at = { ...record, seq };
      const frame =
        seq === record.seq && isTerminalTaskState(record.state)
          ? this.terminalFrame(record)
          : this.frame(at, TaskEventTypes.STATUS, {
              task_id: record.id,
              state: record.state,
              message: `frame ${seq} was lost: the worker that made it stopped before writing it to the log`,
            });
      // De-duplicated by its id: a late append of the real frame, or another filler, adds nothing.
      await this.store.appendFrame(frame);
      filled++;
    }
    return filled;
  }

  /** The terminal frame of an ended record, as `ending` wrote it (for a log that lacks it). */
  terminalFrame(record: TaskRecord): Envelope {
    return this.frame(record, TaskEventTypes.COMPLETED, taskEndPayload(record));
  }

  /** The change that ends a task in `state`, unless it has ended already. */
  static ending(
    state: 'completed' | 'failed' | 'canceled' | 'rejected',
    extra: { result?: unknown; error?: TaskRecord['error'] } = {},
  ): (r: TaskRecord) => TaskChange | undefined {
    return (r) => {
      if (isTerminalTaskState(r.state)) return undefined;
      r.state = state;
      delete r.lease;
      if (extra.result !== undefined) r.result = extra.result;
      if (extra.error) r.error = extra.error;
      const payload: Record<string, unknown> = { task_id: r.id, state };
      if (extra.result !== undefined) payload.result = extra.result;
      if (extra.error) payload.error = extra.error;
      return { record: r, frame: { eventType: TaskEventTypes.COMPLETED, payload } };
    };
  }
}
