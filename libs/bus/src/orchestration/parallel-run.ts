import { cancelledError } from '../caller/cancelled-error.js';
import { resultOf } from '../caller/result-of.js';
import { currentCallContext, type CallContext } from '../context/call-context.js';
import { BusError } from '../errors/bus-error.js';
import { CallAbortedError } from '../errors/call-aborted-error.js';
import { ErrorCodes, type ErrorCode } from '../errors/error-codes.js';
import type { CallOptions, StreamOptions } from '../interfaces/call-options.interface.js';
import { EventTypes } from '../protocol/envelope.js';
import { linkSignals } from '../utils/abort-link.js';
import { BranchSpan } from './branch-span.js';
import { failedBranch } from './branch-status.js';
import type { OrchestrationHost } from './orchestration-host.js';
import type { BranchOutcome, BranchStatus, ParallelBranch } from './parallel-branch.js';
import { ParallelError } from './parallel-error.js';
import type { ParallelEvent, ParallelMode, ParallelOptions, ParallelResult } from './parallel-options.js';

/** Receives a fan-out's events; a promise it returns for a delta holds that branch until it settles. */
export type ParallelListener<T> = (event: ParallelEvent<T>) => void | Promise<void>;

interface BranchState<T> {
  readonly name: string;
  readonly index: number;
  readonly target: string;
  readonly kind: 'invoke' | 'stream';
  readonly payload: unknown;
  readonly options: CallOptions | StreamOptions | undefined;
  status: BranchStatus;
  value?: T;
  error?: BusError;
  text: string;
  startedAt: number;
  endedAt: number;
  /** 1 for the first branch to end, 2 for the next, … (quorum and first-success winners are the earliest). */
  endOrder: number;
  span?: BranchSpan;
}

const MODES: readonly ParallelMode[] = ['all', 'all-settled', 'first-success', 'quorum'];

/**
 * One fan-out: starts every branch as an ordinary bus call (so each inherits the session, trace, deadline and
 * cancellation of the call it is made in), watches them end, decides the outcome as soon as the mode allows, and
 * then cancels the branches still running through their AbortSignals, which is the bus's own cancellation: the
 * remote handlers' signals fire.
 */
export class ParallelRun<T = unknown> {
  readonly mode: ParallelMode;
  private readonly quorum: number;
  private readonly states: BranchState<T>[];
  private readonly ctx: CallContext | undefined;
  /**
   * One signal for every branch: it is aborted only when the branches still running are all to be cancelled (the
   * losers at the decision, or every branch when the caller cancels); a branch that has ended has let go of it.
   * One AbortController instead of one per branch: each costs an allocation and listeners on the call path.
   */
  private readonly abort = new AbortController();
  private startedAt = 0;
  private deadline?: number;
  private decided = false;
  /** No more events: the outcome is decided and the losers' ends have been reported. */
  private closed = false;
  private ended = 0;
  private unlink?: () => void;
  private resolveSettled!: (outcomes: BranchOutcome<T>[]) => void;
  private readonly settled: Promise<BranchOutcome<T>[]>;
  private resolve!: (r: ParallelResult<T>) => void;
  private reject!: (e: unknown) => void;
  readonly promise: Promise<ParallelResult<T>>;

  constructor(
    private readonly host: OrchestrationHost,
    branches: readonly ParallelBranch[],
    private readonly options: ParallelOptions = {},
    private readonly listener?: ParallelListener<T>,
  ) {
    this.ctx = currentCallContext();
    this.mode = options.mode ?? 'all';
    if (!MODES.includes(this.mode)) throw invalid(`parallel: unknown mode "${String(this.mode)}" (use ${MODES.join(', ')})`);
    if (!Array.isArray(branches) || branches.length === 0) throw invalid('parallel: give at least one branch');
    this.quorum = this.mode === 'quorum' ? (options.quorum ?? NaN) : 0;
    if (this.mode === 'quorum' && !(Number.isInteger(this.quorum) && this.quorum >= 1 && this.quorum <= branches.length)) {
      throw invalid(`parallel: quorum must be an integer from 1 to ${branches.length} (the number of branches), not ${options.quorum}`);
    }
    this.states = branches.map((b, index) => branchState<T>(b, index, branches));
    const names = new Set<string>();
    for (const s of this.states) {
      if (names.has(s.name)) throw invalid(`parallel: two branches are named "${s.name}"`);
      names.add(s.name);
    }
    this.settled = new Promise((r) => (this.resolveSettled = r));
    this.promise = new Promise((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // A fan-out nobody awaits (a caller that only iterates a ParallelStream) must not be an unhandled rejection.
    this.promise.catch(() => undefined);
  }

  /** Starts every branch; resolves when the outcome is decided. */
  start(): Promise<ParallelResult<T>> {
    const now = Date.now();
    this.startedAt = now;
    for (const s of this.states) s.startedAt = now;
    if (this.options.timeout !== undefined && this.options.timeout >= 0) this.deadline = now + this.options.timeout;
    // Linked before the branches' own calls link the same signals, so a cancel is seen here first: the fan-out
    // ends with the caller's cancellation, not with whichever branch reported its own first.
    this.unlink = linkSignals([this.options.signal, this.ctx?.signal], (reason) => this.cancel(reason));
    for (const s of this.states) {
      if (this.decided) break;
      this.launch(s);
    }
    return this.promise;
  }

  /** The caller stops the fan-out: every branch still running is cancelled and the fan-out rejects. */
  cancel(reason: unknown = 'cancelled'): void {
    if (this.decided) return;
    this.decided = true;
    this.unlink?.();
    const at = Date.now();
    for (const s of this.states) if (s.status === 'running') this.cancelBranch(s, reason, at);
    this.closed = true;
    this.abort.abort(reason);
    this.reject(cancelledError(reason, 'parallel'));
  }

  private launch(s: BranchState<T>): void {
    const opts = this.callOptions(s);
    s.span = BranchSpan.start(this.host.options.telemetry, this.ctx, this.mode, s.name, s.index, s.target);
    this.emit({ type: 'start', branch: s.name, index: s.index, target: s.target, kind: s.kind, at: s.startedAt });
    if (s.kind === 'stream') {
      void this.pump(s, opts);
      return;
    }
    let call: Promise<T>;
    try {
      const invoke = () => this.host.invoke<T>(s.target, s.payload, opts);
      call = s.span ? s.span.run(invoke) : invoke();
    } catch (err) {
      call = Promise.reject(err);
    }
    call.then(
      (value) => this.succeed(s, value),
      (err: unknown) => this.fail(s, err),
    );
  }

  /** A stream branch: reads its frames, reports its deltas, and ends with its final result. */
  private async pump(s: BranchState<T>, opts: CallOptions): Promise<void> {
    try {
      const call = this.host.stream(s.target, s.payload, { ...opts, yieldErrors: false });
      // The first read starts the call: inside the branch span, so the stream's span is its child.
      const first = () => call.next();
      let r = await (s.span ? s.span.run(first) : first());
      while (!r.done) {
        if (s.status !== 'running') return;
        const f = r.value;
        if (f.event_type === EventTypes.DELTA) {
          const p = (f.payload ?? {}) as { delta?: unknown; data?: unknown };
          const delta = typeof p.delta === 'string' ? p.delta : undefined;
          if (delta !== undefined) s.text += delta;
          if (this.listener && !this.closed) {
            const held = this.listener({ type: 'delta', branch: s.name, index: s.index, delta, data: p.data, frame: f });
            if (held) await held;
          }
        }
        r = await call.next();
      }
      this.succeed(s, (call.final ? resultOf(call.final) : undefined) as T);
    } catch (err) {
      this.fail(s, err);
    }
  }

  private callOptions(s: BranchState<T>): CallOptions {
    // The fan-out's own options are not call options; the rest (session, trace, metadata, policies) apply to every branch.
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { mode, quorum, timeout, branchTimeout, cancelLosers, signal, ...common } = this.options;
    const own = s.options ?? {};
    let t = own.timeout ?? branchTimeout;
    if (this.deadline !== undefined) {
      const left = Math.max(0, this.deadline - Date.now());
      t = t === undefined ? left : Math.min(t, left);
    }
    return { ...common, ...own, timeout: t, signal: own.signal ? AbortSignal.any([own.signal, this.abort.signal]) : this.abort.signal };
  }

  private succeed(s: BranchState<T>, value: T): void {
    if (s.status !== 'running') return;
    s.status = 'ok';
    s.value = value;
    this.ended1(s, Date.now());
  }

  private fail(s: BranchState<T>, err: unknown): void {
    if (s.status !== 'running') return;
    const { status, error } = failedBranch(err);
    s.status = status;
    s.error = error;
    this.ended1(s, Date.now());
  }

  /** Bookkeeping when a branch has ended (or has been cancelled): its span, its event, then the decision. */
  private ended1(s: BranchState<T>, at: number): void {
    s.endedAt = at;
    s.endOrder = ++this.ended;
    const outcome = this.outcome(s, at);
    s.span?.end(outcome);
    this.emit({ type: 'end', branch: s.name, index: s.index, outcome });
    if (this.ended === this.states.length) this.resolveSettled(this.states.map((b) => this.outcome(b, at)));
    if (!this.decided) this.evaluate();
  }

  private evaluate(): void {
    let ok = 0;
    let running = 0;
    const failed: BranchState<T>[] = [];
    for (const s of this.states) {
      if (s.status === 'ok') ok++;
      else if (s.status === 'running') running++;
      else failed.push(s);
    }
    failed.sort((a, b) => a.endOrder - b.endOrder);
    const successes = () => this.states.filter((s) => s.status === 'ok');
    const byEnd = () => successes().sort((a, b) => a.endOrder - b.endOrder);
    switch (this.mode) {
      case 'all':
        if (failed.length > 0) {
          const f = failed[0];
          return this.decideFailure(f.error!.code, f.error!.retryable, `parallel (all): branch "${f.name}" ${describe(f)}`);
        }
        if (running === 0) return this.decideSuccess(this.states);
        return;
      case 'all-settled':
        if (running === 0) return this.decideSuccess(successes());
        return;
      case 'first-success':
        if (ok > 0) return this.decideSuccess(byEnd().slice(0, 1));
        if (running === 0) return this.decideFailure(...summary(failed), `parallel (first-success): every branch failed (${list(failed)})`);
        return;
      case 'quorum':
        if (ok >= this.quorum) return this.decideSuccess(byEnd().slice(0, this.quorum));
        if (ok + running < this.quorum) {
          return this.decideFailure(
            ...summary(failed),
            `parallel (quorum ${this.quorum} of ${this.states.length}): cannot be reached, ${ok} succeeded and ${running} still running (${list(failed)})`,
          );
        }
        return;
    }
  }

  private decideSuccess(winners: BranchState<T>[]): void {
    const result = this.conclude(winners);
    this.resolve(result);
  }

  private decideFailure(code: ErrorCode, retryable: boolean, message: string): void {
    const result = this.conclude([]);
    this.reject(new ParallelError<T>(code, message, result, retryable));
  }

  /** The outcome is decided: cancel the losers (unless told not to) and build the result. */
  private conclude(winners: BranchState<T>[]): ParallelResult<T> {
    this.decided = true;
    this.unlink?.();
    const at = Date.now();
    if (this.options.cancelLosers !== false && this.states.some((s) => s.status === 'running')) {
      // Made only when there are losers: an error object (its stack) is the dearest thing here.
      const reason = new CallAbortedError(`cancelled: the parallel (${this.mode}) outcome was decided without this branch`, 'decided');
      for (const s of this.states) if (s.status === 'running') this.cancelBranch(s, reason, at);
      this.abort.abort(reason);
    }
    this.closed = true;
    const result = {
      mode: this.mode,
      winners: winners.map((w) => w.name),
      values: winners.map((w) => w.value as T),
      branches: this.states.map((s) => this.outcome(s, at)),
      durationMs: at - this.startedAt,
    } as ParallelResult<T>;
    // Not enumerable: a handler that returns the result sends it as JSON, where a promise has no place.
    Object.defineProperty(result, 'settled', { value: this.settled, enumerable: false });
    return result;
  }

  private cancelBranch(s: BranchState<T>, reason: unknown, at: number): void {
    s.status = 'cancelled';
    s.error = cancelledError(reason, `branch "${s.name}"`);
    this.ended1(s, at);
  }

  private outcome(s: BranchState<T>, now: number): BranchOutcome<T> {
    const o: BranchOutcome<T> = {
      name: s.name,
      index: s.index,
      target: s.target,
      kind: s.kind,
      status: s.status,
      startedAt: s.startedAt,
      durationMs: (s.status === 'running' ? now : s.endedAt) - s.startedAt,
    };
    if (s.status === 'ok') o.value = s.value;
    if (s.error) o.error = s.error.toPayload();
    if (s.kind === 'stream') o.text = s.text;
    return o;
  }

  private emit(event: ParallelEvent<T>): void {
    if (!this.listener || this.closed) return;
    void this.listener(event);
  }
}

function branchState<T>(b: ParallelBranch, index: number, all: readonly ParallelBranch[]): BranchState<T> {
  const kind = 'invoke' in b && typeof b.invoke === 'string' ? 'invoke' : 'stream';
  const target = kind === 'invoke' ? (b as { invoke: string }).invoke : (b as { stream?: unknown }).stream;
  if (typeof target !== 'string' || !target) throw invalid(`parallel: branch ${index} names no target (give invoke: or stream:)`);
  const repeated = all.some((o, i) => i !== index && !o.name && ('invoke' in o ? o.invoke : o.stream) === target);
  return {
    name: b.name ?? (repeated ? `${target}#${index}` : target),
    index,
    target,
    kind,
    payload: b.payload,
    options: b.options,
    status: 'running',
    text: '',
    startedAt: 0,
    endedAt: 0,
    endOrder: 0,
  };
}

function invalid(message: string): BusError {
  return new BusError(ErrorCodes.INVALID_REQUEST, message);
}

function describe(s: BranchState<unknown>): string {
  return s.status === 'timed-out'
    ? `timed out: ${s.error!.message}`
    : s.status === 'cancelled'
      ? 'was cancelled'
      : `failed: ${s.error!.message}`;
}

function list(failed: BranchState<unknown>[]): string {
  return failed.map((f) => `${f.name}: ${f.status === 'error' ? `${f.error!.code} ${f.error!.message}` : f.status}`).join('; ');
}

/** The code of a failed fan-out: the branches' common code when they share one, else AGENT_UNAVAILABLE. */
function summary(failed: BranchState<unknown>[]): [ErrorCode, boolean] {
  const codes = new Set(failed.map((f) => f.error!.code));
  const code = codes.size === 1 ? [...codes][0] : ErrorCodes.AGENT_UNAVAILABLE;
  return [code, failed.some((f) => f.error!.retryable)];
}
