import { type BusClient, BusError, type BusLogger, type BusSubscription, ErrorCodes } from '@openagentio/nestjs';

/** Payload of the cancellation broadcast (`cancelEvent`); `all: true` ends every call of the session. */
interface CancelMessage {
  session_id: string;
  request_id?: string | number;
  all?: boolean;
  reason?: string;
}

/** The endpoint counters the registry keeps. */
export interface McpCancelStats {
  cancelledLocal: number;
  cancelsBroadcast: number;
  cancelledFromBroadcast: number;
}

/**
 * The tool calls an MCP endpoint runs, by session and request id, so that `notifications/cancelled` and a session's
 * DELETE reach them: on this replica directly, else through the cancellation broadcast on the bus (`cancelEvent`)
 * to the replica that runs the call.
 */
export class McpCallRegistry {
  private readonly inflight = new Map<string, AbortController>();
  private cancelSub?: BusSubscription;

  constructor(
    private readonly bus: BusClient,
    private readonly logger: BusLogger,
    private readonly cancelEvent: string | undefined,
    private readonly stats: McpCancelStats,
  ) {}

  /** Subscribes to the cancellation broadcast of the replicas (once). */
  start(): void {
    if (!this.cancelEvent || this.cancelSub) return;
    this.cancelSub = this.bus.subscribe<CancelMessage>(this.cancelEvent, (msg) => {
      if (!msg || typeof msg.session_id !== 'string') return;
      if (msg.all) {
        this.stats.cancelledFromBroadcast += this.cancelSessionLocal(msg.session_id);
        return;
      }
      if (msg.request_id === undefined) return;
      if (this.abortLocal(msg.session_id, msg.request_id, msg.reason ?? 'cancelled by the MCP client')) this.stats.cancelledFromBroadcast++;
    });
  }

  /** Stops listening to the broadcast and aborts every call in flight. */
  close(): void {
    this.cancelSub?.unsubscribe();
    this.cancelSub = undefined;
    for (const ac of this.inflight.values()) ac.abort(new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'MCP endpoint closed'));
    this.inflight.clear();
  }

  /** Registers a call; returns its key for `release` (none without a session: such a call cannot be cancelled later). */
  track(sessionId: string | undefined, requestId: string | number, ac: AbortController): string | undefined {
    const key = this.key(sessionId, requestId);
    if (key) this.inflight.set(key, ac);
    return key;
  }

  /** Forgets a finished call (unless its request id was reused by a newer call meanwhile). */
  release(key: string | undefined, ac: AbortController): void {
    if (key && this.inflight.get(key) === ac) this.inflight.delete(key);
  }

  /** `notifications/cancelled`: aborts the call here, or asks the other replicas to. */
  cancel(sessionId: string | undefined, requestId: string | number, reason: string): void {
    if (this.abortLocal(sessionId, requestId, reason)) {
      this.stats.cancelledLocal++;
      return;
    }
    if (!sessionId || !this.cancelEvent) return;
    this.stats.cancelsBroadcast++;
    const msg: CancelMessage = { session_id: sessionId, request_id: requestId, reason };
    this.bus.publish(this.cancelEvent, msg, { session_id: sessionId }).catch((err) => {
      this.logger.debug?.(`mcp endpoint: cancel broadcast failed: ${(err as Error).message}`);
    });
  }

  /** DELETE of a session: ends its calls here and, through the broadcast, on the other replicas. */
  cancelSession(sessionId: string): void {
    this.cancelSessionLocal(sessionId);
    if (!this.cancelEvent) return;
    const msg: CancelMessage = { session_id: sessionId, all: true, reason: 'MCP session ended' };
    this.bus.publish(this.cancelEvent, msg, { session_id: sessionId }).catch(() => undefined);
  }

  private abortLocal(sessionId: string | undefined, requestId: string | number, reason: string): boolean {
    const key = this.key(sessionId, requestId);
    const ac = key ? this.inflight.get(key) : undefined;
    if (!ac) return false;
    ac.abort(
      new BusError(ErrorCodes.AGENT_UNAVAILABLE, `cancelled by the MCP client: ${reason}`, {
        retryable: false,
        cause: { reason: 'cancelled' },
      }),
    );
    return true;
  }

  private cancelSessionLocal(sessionId: string): number {
    const prefix = `${sessionId}\u0000`;
    let n = 0;
    for (const [key, ac] of this.inflight) {
      if (!key.startsWith(prefix)) continue;
      ac.abort(new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'MCP session ended', { retryable: false, cause: { reason: 'cancelled' } }));
      n++;
    }
    return n;
  }

  // Calls without a session cannot be cancelled by a later request: request ids are only unique per session.
  private key(sessionId: string | undefined, requestId: string | number): string | undefined {
    return sessionId ? `${sessionId}\u0000${typeof requestId}:${String(requestId)}` : undefined;
  }
}
