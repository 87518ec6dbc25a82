import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { Caller } from '../caller/caller.js';
import { publishDurableEvent, publishEvent } from '../caller/publisher.js';
import type { StreamCall } from '../caller/stream-call.js';
import { DurableEvents } from '../durable/durable-events.js';
import type { ReplayOptions } from '../durable/durable-options.js';
import { BusDiscovery } from '../discovery/bus-discovery.js';
import type { LocalService } from '../discovery/local-service.js';
import type { ServedEndpoint } from '../discovery/served-endpoint.js';
import type { BusClientOptions, ResolvedBusOptions } from '../interfaces/bus-client-options.interface.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import type { CallOptions, HandlerOptions, PublishOptions, StreamOptions, SubscribeOptions } from '../interfaces/call-options.interface.js';
import type { EventHandler, InvokeHandler, StreamHandler } from '../interfaces/handler.interface.js';
import { BusAudit } from '../observability/bus-audit.js';
import { BusMetrics } from '../observability/bus-metrics.js';
import type { Envelope } from '../protocol/envelope.js';
import type { SubjectScheme } from '../protocol/subjects.js';
import type { CircuitBreaker, CircuitBreakerOptions } from '../resilience/circuit-breaker.js';
import { HandoffStream } from '../orchestration/handoff-stream.js';
import type { HandoffOptions } from '../orchestration/handoff-options.js';
import type { ParallelBranch } from '../orchestration/parallel-branch.js';
import type { ParallelOptions, ParallelResult } from '../orchestration/parallel-options.js';
import { ParallelRun } from '../orchestration/parallel-run.js';
import { ParallelStream } from '../orchestration/parallel-stream.js';
import { publishDeadLetter, type DeadLetterInfo } from '../responder/dead-letter.js';
import { EventDispatcher } from '../responder/event-dispatcher.js';
import { Responder } from '../responder/responder.js';
import type { BusLogger } from '../runtime/bus-logger.js';
import { BusRuntime } from '../runtime/bus-runtime.js';
import type { BusStats } from '../runtime/bus-stats.js';
import { ControlChannel } from '../runtime/control-channel.js';
import { InboxRouter } from '../runtime/inbox-router.js';
import type { Transport } from '../transport/transport.interface.js';

/**
 * The bus API: `invoke`, `stream`, `publish`, `subscribe`, and handler registration, over any Transport.
 * Usable without Nest (bridges use it directly); in Nest it is the injectable `BusClient`. It wires the shared
 * runtime, the caller, the responder and the event dispatcher together and holds no logic of its own.
 *
 * @example
 * const bus = new BusClient(new MemoryTransport(), { agentId: 'router' });
 * await bus.connect();
 * bus.handleInvoke('math.add', ({ a, b }: { a: number; b: number }) => a + b);
 * const sum = await bus.invoke<number>('math.add', { a: 1, b: 2 }); // 3
 */
export class BusClient {
  private readonly rt: BusRuntime;
  private readonly router: InboxRouter;
  private readonly caller: Caller;
  private readonly responder: Responder;
  private readonly events: EventDispatcher;
  private readonly declaredCallSet = new Set<string>();
  private readonly durable: DurableEvents;
  /** Set when discovery is on: this bus as an ADR-32 service. */
  private readonly discovery?: BusDiscovery;
  private unwatchStatus?: () => void;
  private readonly drainListeners = new Set<(drained: boolean) => void>();

  constructor(
    readonly transport: Transport,
    options: BusClientOptions,
  ) {
    const rt = (this.rt = new BusRuntime(transport, options));
    const control = new ControlChannel(rt);
    this.router = new InboxRouter(rt, control);
    this.caller = new Caller(rt, this.router, control);
    this.responder = new Responder(rt, control);
    this.events = new EventDispatcher(rt);
    this.durable = new DurableEvents(rt);
    this.router.onControl = (requestId, msg) => this.responder.onControl(requestId, msg);
    this.router.onLost = (err) => this.caller.failInFlight(err);
    if (rt.options.discovery) {
      const discovery = (this.discovery = new BusDiscovery(rt.options.discovery, () => this.responder.served(), {
        transport,
        logger: rt.logger,
        subjectPrefix: rt.subjects.prefix,
        tenant: rt.options.tenant,
      }));
      this.responder.onTargetsChanged = () => discovery.targetsChanged();
      if (rt.options.discovery.control) discovery.control = (verb) => (verb === 'DRAIN' ? this.drain() : this.resume());
    }
    if (rt.options.audit) rt.audit = new BusAudit(rt.agentId);
    if (rt.options.telemetry) {
      rt.metrics = new BusMetrics(rt.agentId, rt.stats, () => ({
        calls: this.caller.pendingCalls,
        streams: this.caller.pendingStreams,
        handlers: this.responder.inflightCount,
      }));
    }
  }

  get agentId(): string {
    return this.rt.agentId;
  }

  get subjects(): SubjectScheme {
    return this.rt.subjects;
  }

  get stats(): BusStats {
    return this.rt.stats;
  }

  get logger(): BusLogger {
    return this.rt.logger;
  }

  get metrics(): BusMetrics | undefined {
    return this.rt.metrics;
  }

  /** The options with their defaults applied. */
  get options(): ResolvedBusOptions {
    return this.rt.options;
  }

  /** Connects the transport and opens the shared reply inbox. Idempotent. */
  async connect(): Promise<void> {
    const { rt } = this;
    if (rt.connected) return;
    await this.transport.connect();
    try {
      await this.router.open();
    } catch (err) {
      await this.transport.close().catch(() => undefined);
      throw err;
    }
    this.unwatchStatus = this.transport.onStatus((status, detail) => this.onTransportStatus(status, detail));
    rt.connected = true;
    this.responder.start();
    this.caller.start();
    await this.discovery?.start();
  }

  get isConnected(): boolean {
    return this.rt.isOpen;
  }

  /** Stops serving, fails calls still in flight with TRANSPORT_FAILURE, and closes the transport. */
  async close(): Promise<void> {
    const { rt } = this;
    if (rt.closing) return;
    rt.closing = true;
    // First, while the transport can still tell watchers that this instance is gone.
    this.discovery?.stop();
    this.responder.stop();
    this.caller.stop();
    this.events.stop();
    this.caller.failInFlight(new BusError(ErrorCodes.TRANSPORT_FAILURE, 'bus client closed'));
    this.router.close();
    this.unwatchStatus?.();
    rt.metrics?.close();
    await this.durable.close().catch(() => undefined);
    await this.transport.close();
    rt.connected = false;
  }

  /**
   * Calls `target` and resolves with its result (`payload.result` of the final frame, or the whole payload
   * when a peer sends another shape). Rejects with BusError: NO_HANDLER at once when nothing serves the
   * target, AGENT_TIMEOUT at the deadline, the remote error for an error reply.
   */
  invoke<R = unknown>(target: string, payload?: unknown, options: CallOptions = {}): Promise<R> {
    return this.caller.invoke<R>(target, payload, options);
  }

  /** Like invoke, but resolves with the whole final reply envelope. */
  invokeEnvelope(target: string, payload?: unknown, options: CallOptions = {}): Promise<Envelope> {
    return this.caller.invokeEnvelope(target, payload, options);
  }

  /**
   * Streams from `target`: an async iterable of frames (started, deltas, the final frame). Frames arrive in
   * seq order with duplicates dropped; an error frame throws BusError (or is yielded, with `yieldErrors`).
   * The request is sent when iteration starts; breaking out of the loop, or aborting, cancels the call.
   *
   * @example
   * for await (const frame of bus.stream('writer', { topic: 'NATS' })) {
   *   if (frame.event_type === 'agent.response.delta') process.stdout.write((frame.payload as any).delta);
   * }
   */
  stream(target: string, payload?: unknown, options: StreamOptions = {}): StreamCall {
    return this.caller.stream(target, payload, options);
  }

  /**
   * Runs invokes and streams side by side and decides by `mode` (`all`, `all-settled`, `first-success`, `quorum`);
   * branches still running once it is decided are cancelled. Inside a handler every branch inherits the session,
   * the trace, the cancellation and the time left. Rejects with a ParallelError when the mode cannot be met.
   * See docs/orchestration.md.
   *
   * @example
   * const { values } = await bus.parallel([{ invoke: 'worker.keywords', payload }, { invoke: 'worker.sentiment', payload }]);
   */
  parallel<T = unknown>(branches: readonly ParallelBranch[], options: ParallelOptions = {}): Promise<ParallelResult<T>> {
    try {
      return new ParallelRun<T>(this, branches, options).start();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** `parallel`, read as it happens: each branch's start, its deltas (tagged with the branch) and its end. */
  parallelStream<T = unknown>(branches: readonly ParallelBranch[], options: ParallelOptions = {}): ParallelStream<T> {
    return new ParallelStream<T>(this, branches, options);
  }

  /**
   * Hands the conversation of the call being served to `target`: `return yield* bus.handoff('billing', { reason })`
   * in a stream handler gives its caller one stream (this agent's frames, a handoff marker, then `target`'s frames
   * and final). `target` gets the same session and trace, the time left, the reason, the state and the history by
   * the chosen policy; a loop guard stops cycles. See docs/orchestration.md.
   */
  handoff<R = unknown>(target: string, options: HandoffOptions = {}): HandoffStream<R> {
    return new HandoffStream<R>(this, target, options);
  }

  /**
   * Publishes an event on `{prefix}.events.{eventType}`; session fields default to the ambient call's. With
   * `durable: true` it resolves once the durable log has stored it (docs/events.md).
   */
  async publish(eventType: string, payload?: unknown, options: PublishOptions = {}): Promise<Envelope> {
    if (options.durable) return publishDurableEvent(this.rt, eventType, payload, options, (env) => this.durable.publish(env));
    return publishEvent(this.rt, eventType, payload, options);
  }

  /**
   * Hands the stored events matching `pattern` published between `from` and `to` (default now) to `handler`, in
   * order, and resolves with how many; durable consumers are not disturbed (docs/events.md "Replay").
   */
  replay<P = unknown>(pattern: string, options: ReplayOptions, handler: EventHandler<P>): Promise<number> {
    return this.durable.replay(pattern, options, handler as EventHandler);
  }

  /**
   * Subscribes to events matching `pattern` (NATS wildcards `*` and `>`). The handler runs inside the event's
   * call context, so calls it makes carry the event's session. Its errors are logged, never sent back.
   */
  subscribe<P = unknown>(pattern: string, handler: EventHandler<P>, options: SubscribeOptions = {}): BusSubscription {
    if (options.durable !== undefined) return this.durable.subscribe(pattern, handler as EventHandler, options);
    return this.events.subscribe(pattern, handler, options);
  }

  /**
   * Serves invoke requests for `target`: the handler's return value is the result of the final frame, a throw
   * becomes an error frame. Replicas share a queue group (default: the target name).
   */
  handleInvoke<P = any, R = unknown>(target: string, handler: InvokeHandler<P, R>, options: HandlerOptions = {}): BusSubscription {
    this.rt.assertOpen();
    return this.responder.register(target, 'invoke', handler as InvokeHandler, options);
  }

  /**
   * Serves stream requests for `target`. The handler may return an async iterable or Observable (each value
   * is a delta, the return value or last value the final result) or write through `ctx.writer`. A `started`
   * frame is sent first; a terminal frame is always sent, numbered without gaps.
   */
  handleStream<P = any>(target: string, handler: StreamHandler<P>, options: HandlerOptions = {}): BusSubscription {
    this.rt.assertOpen();
    return this.responder.register(target, 'stream', handler as StreamHandler, options);
  }

  /** Event patterns this client has subscribed to or declared (for its NATS permissions, docs/security.md). */
  get subscribedPatterns(): string[] {
    return [...this.events.patterns];
  }

  /** The durable consumer names this bus subscribes with (docs/events.md), for its NATS permissions. */
  get durableConsumers(): string[] {
    return [...this.durable.consumerNames];
  }

  /** Targets declared at run time by components on this bus (a gateway's exposed targets), beside `calls`. */
  get declaredCalls(): string[] {
    return [...this.declaredCallSet];
  }

  /**
   * What a component on this bus will call or subscribe to later than at start (a gateway: the targets it exposes,
   * the event patterns of its event routes), so that the generated NATS permissions cover it (`describeBus`).
   */
  declare(what: { calls?: readonly string[]; subscribes?: readonly string[]; operator?: boolean }): void {
    for (const c of what.calls ?? []) this.declaredCallSet.add(c);
    for (const p of what.subscribes ?? []) this.events.patterns.add(p);
    if (what.operator) this.declaredOperator = true;
  }

  /**
   * Set by a component that operates the other agents (the gateway's console): it drains and resumes instances
   * and reads their recent spans, which the generated permissions deny to every other agent.
   */
  declaredOperator = false;

  /** Targets this client serves. */
  get targets(): string[] {
    return this.responder.targets();
  }

  /**
   * The targets this client serves with their subject, queue group and what their options say (description, tags,
   * input schema, `internal`): `served.filter((t) => !t.about.internal)` is what to show users.
   */
  get served(): ServedEndpoint[] {
    return [...this.responder.served()];
  }

  /**
   * Drains this instance (docs/discovery.md, "Drain"): it stops taking new calls (its targets' request
   * subscriptions go, so their queue groups' other members get them) and new tasks (TasksModule's workers stop
   * pulling), finishes what it has, and leaves discovery (a `stopped` announcement; no PING/INFO/STATS answers).
   * `resume()` brings it back. Returns where it is now.
   */
  drain(): { drained: boolean; inflight: number } {
    if (!this.responder.isDrained) {
      this.responder.drain();
      this.discovery?.setListed(false);
      for (const l of this.drainListeners) l(true);
    }
    return { drained: true, inflight: this.responder.inflightCount };
  }

  resume(): { drained: boolean; inflight: number } {
    if (this.responder.isDrained) {
      this.responder.resume();
      this.discovery?.setListed(true);
      for (const l of this.drainListeners) l(false);
    }
    return { drained: false, inflight: this.responder.inflightCount };
  }

  get drained(): boolean {
    return this.responder.isDrained;
  }

  /** Told each time the bus is drained (true) or resumed (false); returns the function that stops it. */
  onDrainChange(listener: (drained: boolean) => void): () => void {
    this.drainListeners.add(listener);
    return () => this.drainListeners.delete(listener);
  }

  /** This bus as an ADR-32 service (its name, instance id, PING/INFO/STATS), when discovery is on. */
  get service(): LocalService | undefined {
    return this.discovery?.service;
  }

  /**
   * The caller-side circuit breaker of a target (created with the first options seen; without `options`, those of
   * the target's configured policy).
   */
  breakerFor(target: string, options?: CircuitBreakerOptions): CircuitBreaker {
    return this.caller.breakerFor(target, options);
  }

  /**
   * Publishes an event whose handler failed for good to `{prefix}.dlq.{event_type}` (never tenant-scoped), with
   * `dlq_*` metadata saying why (see docs/observability.md).
   */
  publishDeadLetter(original: Envelope, error: BusError, info: DeadLetterInfo): void {
    publishDeadLetter(this.rt, original, error, info);
  }

  // Replies published while the connection is down are lost, so calls in flight end now with a retryable
  // error instead of waiting for their deadline; a retry policy can take them up again after reconnecting.
  private onTransportStatus(status: string, detail?: string): void {
    if (status !== 'disconnected' && status !== 'reconnecting') return;
    if (this.caller.pendingCalls === 0 && this.caller.pendingStreams === 0) return;
    const err = new BusError(ErrorCodes.TRANSPORT_FAILURE, `transport ${status}${detail ? `: ${detail}` : ''}`, { retryable: true });
    this.caller.failInFlight(err);
  }
}
