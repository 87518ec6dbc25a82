import { BusClient, type BusLogger } from '@openagentio/nestjs';
import { type BridgeDefinition, type MatrixEventBridge } from '@openagentio/nestjs-bridges';
import { BridgeSupervisor } from '@openagentio/nestjs-bridges/internal/supervision/bridge-supervisor.js';
import { buildBridges } from '@openagentio/nestjs-bridges/internal/bridge-manager.js';
import { startSynapse, type SynapseServer, type SynapseUser } from '../../test/support/synapse.js';
import type { BenchConfig } from '../config.js';
import { nowUs, percentile, sleep, withTimeout } from '../lib/measure.js';
import type { Metrics } from '../lib/results.js';
import { memoryTransports } from '../stacks/bus.js';

/**
 * The Matrix bridge (`matrix_event`) against a real Synapse (test/support/synapse.ts, started once for the suite).
 *
 * Metrics of stack `matrix.bridge` (ours) against `matrix.raw` (plain peer) and `matrix.raw.filtered`:
 * - `lat.p50`, `lat.p90` (µs): a human's message, from just before its PUT to (ours) the bridge's
 *   `matrix.message.received` event at an agent subscriber, and (peer) the return of a second Matrix user's own
 *   `/sync` long-poll (raw fetch, `since`, `timeout=30000`) that carries it. Messages go one at a time: each waits
 *   for both observations, then a short pause, so both clients are parked in their long-poll again. Two phases per
 *   run, their order alternating: the peer without a filter (as a plain client syncs), and the peer with the sync
 *   filter the bridge itself uses (`latf.*`), which tells the bridge's own cost from the cost of Synapse building a
 *   larger sync answer. Each phase pairs the bridge with one peer over the same messages: `lat.ratio` and
 *   `latf.ratio` are per-run ratios of the p50s (`*.p90.ratio` of the p90s).
 * - `send.ops` (sends/s): `matrix.message.send` events published as fast as possible until the bridge's
 *   `stats.outboundSent` has counted them all, against sequential raw PUTs to `/send` by the same bot user in the
 *   same room (the bridge serialises the sends of one room). The bot's rate limit is raised through the admin API.
 */
export interface MatrixCounts {
  /** Latency messages per run (after the warm-up). */
  messages: number;
  /** Sends per run, for each of the two stacks (after the warm-up). */
  sends: number;
  warmupMessages: number;
  warmupSends: number;
}

export function matrixCounts(cfg: BenchConfig): MatrixCounts {
  return cfg.quick
    ? { messages: 40, sends: 100, warmupMessages: 3, warmupSends: 10 }
    : { messages: 200, sends: 500, warmupMessages: 5, warmupSends: 20 };
}

const INBOUND = 'matrix.message.received';
const OUTBOUND = 'matrix.message.send';
/** Longest wait for one message's two observations, and for a whole send phase. */
const OBSERVE_TIMEOUT_MS = 15_000;
const SEND_PHASE_TIMEOUT_MS = 180_000;
/** Pause between two latency messages (not measured): both clients re-issue their long-poll in it. */
const SETTLE_MS = 20;

const quiet: BusLogger = { log() {}, warn() {}, error() {}, debug() {} };

/** Arrival times (µs) by Matrix event id, with waiters for ids not seen yet. */
class Arrivals {
  /** For the bridge's events: ms from its sync answer to the agent's event. */
  readonly sinceSync = new Map<string, number>();
  private readonly at = new Map<string, number>();
  private readonly waiters = new Map<string, () => void>();

  mark(eventId: string, t: number): void {
    if (this.at.has(eventId)) return;
    this.at.set(eventId, t);
    this.waiters.get(eventId)?.();
    this.waiters.delete(eventId);
  }

  get(eventId: string): number | undefined {
    return this.at.get(eventId);
  }

  async wait(eventId: string, what: string): Promise<number> {
    const seen = this.at.get(eventId);
    if (seen !== undefined) return seen;
    await withTimeout(new Promise<void>((resolve) => this.waiters.set(eventId, resolve)), OBSERVE_TIMEOUT_MS, what);
    return this.at.get(eventId)!;
  }
}

/** Client-Server API calls with plain fetch; throws on a non-2xx answer (its status and body in the message). */
async function cs<T = Record<string, unknown>>(base: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/_matrix/client/v3/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new HttpError(`${method} ${path.split('?')[0]}: ${res.status} ${text.slice(0, 200)}`, res.status, text);
  return (text ? JSON.parse(text) : {}) as T;
}

class HttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(message);
  }
}

const room = (id: string) => encodeURIComponent(id);

/** The sync filter the bridge creates for itself (MatrixEventBridge.createFilter), inline for the raw peer. */
function bridgeFilter(roomId: string): string {
  return JSON.stringify({
    presence: { types: [] },
    account_data: { types: [] },
    room: {
      rooms: [roomId],
      timeline: { types: ['m.room.message', 'm.room.redaction', 'm.reaction'], limit: 50 },
      state: { types: [], lazy_load_members: true },
      ephemeral: { types: [] },
      account_data: { types: [] },
    },
  });
}

/**
 * The peer of the latency figure: a second Matrix user's own sync loop, raw fetch with `since` and `timeout=30000`
 * (and an inline filter, or none), marking the time each response's body has arrived for every timeline event in it.
 *
 * One client per filter for the whole suite, paused between its phases and resumed from its own `since`. A client
 * made anew per phase would open with the same initial sync as the last one, and Synapse answers a repeated sync
 * request from its response cache for minutes: the new client would start from the old token and replay the
 * earlier runs' cached answers, one message per sync, while it is being measured.
 */
class RawSyncClient {
  readonly arrivals = new Arrivals();
  syncs = 0;
  private stopper = new AbortController();
  private loop?: Promise<void>;
  private failure?: Error;
  private since?: string;
  private readonly query: string;

  constructor(
    private readonly base: string,
    private readonly token: string,
    filter?: string,
  ) {
    this.query = `set_presence=offline${filter ? `&filter=${encodeURIComponent(filter)}` : ''}`;
  }

  /** Starts (the first time, from an initial sync) or resumes the long-poll loop. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.since ??= (await cs<{ next_batch: string }>(this.base, this.token, 'GET', `sync?timeout=0&${this.query}`)).next_batch;
    this.stopper = new AbortController();
    this.failure = undefined;
    this.loop = this.run(this.stopper.signal);
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /** Pauses the loop (its long-poll aborted); `start()` resumes from the last token. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop?.catch(() => undefined);
    this.loop = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const url = `${this.base}/_matrix/client/v3/sync?since=${encodeURIComponent(this.since!)}&timeout=30000&${this.query}`;
        const res = await fetch(url, { headers: { authorization: `Bearer ${this.token}` }, signal });
        const text = await res.text();
        const t = nowUs();
        if (!res.ok) throw new Error(`sync: ${res.status} ${text.slice(0, 200)}`);
        this.syncs++;
        const data = JSON.parse(text) as {
          next_batch: string;
          rooms?: { join?: Record<string, { timeline?: { events?: Array<{ event_id?: string }> } }> };
        };
        for (const r of Object.values(data.rooms?.join ?? {})) {
          for (const ev of r.timeline?.events ?? []) if (typeof ev.event_id === 'string') this.arrivals.mark(ev.event_id, t);
        }
        this.since = data.next_batch;
      } catch (err) {
        if (signal.aborted) return;
        this.failure = err as Error;
        await sleep(200);
      }
    }
  }
}

/** Synapse, a room of three users (a human, the bridge's bot, a watcher with a raw sync loop), the bridge and two buses. */
export class MatrixBench {
  private sendSeq = 0;
  private txnSeq = 0;

  private constructor(
    private readonly synapse: SynapseServer,
    private readonly human: SynapseUser,
    private readonly bot: SynapseUser,
    private readonly roomId: string,
    private readonly bridge: MatrixEventBridge,
    private readonly supervisor: BridgeSupervisor,
    private readonly bridgeBus: BusClient,
    private readonly agentBus: BusClient,
    private readonly bridgeArrivals: Arrivals,
    private readonly plainSync: RawSyncClient,
    private readonly filteredSync: RawSyncClient,
    readonly version: string,
  ) {}

  /** Starts everything; throws (with Synapse stopped again) when any step fails. */
  static async start(log: (s: string) => void): Promise<MatrixBench> {
    const synapse = await startSynapse();
    const closers: Array<() => Promise<unknown>> = [() => synapse.stop()];
    try {
      const version = await fetch(`${synapse.baseUrl}/_synapse/admin/v1/server_version`)
        .then((r) => r.json() as Promise<{ server_version?: string }>)
        .then((v) => v.server_version ?? 'unknown')
        .catch(() => 'unknown');
      log(`synapse ${version} at ${synapse.baseUrl} (SQLite, temp dir ${synapse.dir})`);
      const base = synapse.baseUrl;
      const human = await synapse.registerUser('bench-human');
      const bot = await synapse.registerUser('bench-bot');
      const watcher = await synapse.registerUser('bench-watcher');
      const { room_id: roomId } = await cs<{ room_id: string }>(base, human.accessToken, 'POST', 'createRoom', {
        name: 'bench',
        preset: 'private_chat',
      });
      for (const u of [bot, watcher]) await cs(base, human.accessToken, 'POST', `rooms/${room(roomId)}/invite`, { user_id: u.userId });
      await cs(base, watcher.accessToken, 'POST', `join/${room(roomId)}`, {});
      // The bot's sends: raised above anything the bench reaches (the send figure must not be Synapse's limiter).
      await synapse.overrideRateLimit(bot.userId, 10_000, 10_000);

      const make = memoryTransports();
      const bridgeBus = new BusClient(make('bridge'), { agentId: 'bench-matrix-bridge', logger: quiet });
      const agentBus = new BusClient(make('agent'), { agentId: 'bench-matrix-agent', logger: quiet });
      await bridgeBus.connect();
      await agentBus.connect();
      closers.push(
        () => agentBus.close(),
        () => bridgeBus.close(),
      );
      const definition: BridgeDefinition = {
        name: 'bench-matrix',
        type: 'matrix_event',
        config: {
          homeserver_url: base,
          access_token: bot.accessToken,
          user_id: bot.userId,
          room_ids: [roomId],
          sync_timeout: 30,
          reconnect_delay: 0.2,
        },
      };
      const [bridge] = buildBridges({ bridges: [definition] }) as MatrixEventBridge[];
      const bridgeArrivals = new Arrivals();
      const sub = agentBus.subscribe(INBOUND, (p: { event_id?: string }) => {
        const t = nowUs();
        if (typeof p?.event_id !== 'string') return;
        bridgeArrivals.mark(p.event_id, t);
        // How long ago the bridge's sync answer came back (whole ms, Date.now()): the bridge's own share.
        const ago = bridge.describe().last_sync_ms_ago;
        if (typeof ago === 'number') bridgeArrivals.sinceSync.set(p.event_id, ago);
      });
      await sub.ready;
      const supervisor = new BridgeSupervisor(bridge, bridgeBus, quiet, { initialDelayMs: 100, maxDelayMs: 500 });
      await supervisor.start();
      closers.push(() => supervisor.stop());
      if (supervisor.status !== 'healthy') throw new Error(`the bridge did not start: ${JSON.stringify(supervisor.health())}`);
      const firstSync = Date.now() + 15_000;
      while (bridge.describe().cursor_age_ms === null) {
        if (Date.now() > firstSync) throw new Error('the bridge made no first sync within 15 s');
        await sleep(20);
      }
      const plainSync = new RawSyncClient(base, watcher.accessToken);
      const filteredSync = new RawSyncClient(base, watcher.accessToken, bridgeFilter(roomId));
      return new MatrixBench(
        synapse,
        human,
        bot,
        roomId,
        bridge,
        supervisor,
        bridgeBus,
        agentBus,
        bridgeArrivals,
        plainSync,
        filteredSync,
        version,
      );
    } catch (err) {
      for (const c of closers.reverse()) await c().catch(() => undefined);
      throw err;
    }
  }

  /** One run: the two latency phases, then the two send phases (the order of each pair alternating by run). */
  async run(cfg: BenchConfig, metrics: Metrics, run: number, log: (s: string) => void): Promise<void> {
    const n = matrixCounts(cfg);
    const latency = [
      () => this.latency(n, 'lat', 'matrix.raw', this.plainSync, metrics, run, log),
      () => this.latency(n, 'latf', 'matrix.raw.filtered', this.filteredSync, metrics, run, log),
    ];
    const sends = [() => this.bridgeSends(n, metrics, log), () => this.rawSends(n, metrics, log)];
    if (run % 2) {
      latency.reverse();
      sends.reverse();
    }
    for (const phase of [...latency, ...sends]) await phase();
  }

  async close(): Promise<void> {
    await this.plainSync.stop();
    await this.filteredSync.stop();
    await this.supervisor.stop();
    await this.agentBus.close();
    await this.bridgeBus.close();
    await this.synapse.resetRateLimit(this.bot.userId).catch(() => undefined);
    await this.synapse.stop();
  }

  /** The human's message, PUT with plain fetch; `t0` is taken just before the PUT, `t1` once it has answered. */
  private async say(text: string): Promise<{ eventId: string; t0: number; t1: number }> {
    const path = `rooms/${room(this.roomId)}/send/m.room.message/${encodeURIComponent(`bench.h.${process.pid}.${++this.txnSeq}`)}`;
    const t0 = nowUs();
    const res = await cs<{ event_id: string }>(this.synapse.baseUrl, this.human.accessToken, 'PUT', path, {
      msgtype: 'm.text',
      body: text,
    });
    return { eventId: res.event_id, t0, t1: nowUs() };
  }

  /**
   * One latency phase: the raw sync client `raw` running beside the bridge, `n.messages` messages one at a time;
   * metrics `<prefix>.p50`/`.p90` of the bridge and of `peer`, and the per-run ratios.
   */
  private async latency(
    n: MatrixCounts,
    prefix: string,
    peer: string,
    raw: RawSyncClient,
    metrics: Metrics,
    run: number,
    log: (s: string) => void,
  ): Promise<void> {
    await raw.start();
    const syncs0 = raw.syncs;
    const bridgeUs: number[] = [];
    const rawUs: number[] = [];
    const deltaUs: number[] = [];
    const ownMs: number[] = [];
    const putUs: number[] = [];
    const published0 = this.bridge.stats.published;
    try {
      for (let i = -n.warmupMessages; i < n.messages; i++) {
        // The first exchange also waits for the resumed client to catch up and park its long-poll.
        await sleep(i === -n.warmupMessages ? 200 : SETTLE_MS);
        const { eventId, t0, t1 } = await this.say(`bench message ${run}.${prefix}.${i}`);
        const [tb, tr] = await Promise.all([
          this.bridgeArrivals.wait(eventId, `bridge event for message ${i}`),
          raw.arrivals.wait(eventId, `raw sync of message ${i}${raw.error ? ` (last sync error: ${raw.error.message})` : ''}`),
        ]);
        if (i >= 0) {
          bridgeUs.push(tb - t0);
          rawUs.push(tr - t0);
          deltaUs.push(tb - tr);
          putUs.push(t1 - t0);
          const own = this.bridgeArrivals.sinceSync.get(eventId);
          if (own !== undefined) ownMs.push(own);
        }
      }
    } finally {
      await raw.stop();
    }
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
    const b = sorted(bridgeUs);
    const r = sorted(rawUs);
    const d = sorted(deltaUs);
    const own = sorted(ownMs);
    const put = sorted(putUs);
    const [bp50, bp90, rp50, rp90] = [percentile(b, 50), percentile(b, 90), percentile(r, 50), percentile(r, 90)];
    metrics.put('matrix.bridge', `${prefix}.p50`, bp50);
    metrics.put('matrix.bridge', `${prefix}.p90`, bp90);
    metrics.put(peer, `${prefix}.p50`, rp50);
    metrics.put(peer, `${prefix}.p90`, rp90);
    metrics.put('matrix.bridge', `${prefix}.ratio`, bp50 / rp50);
    metrics.put('matrix.bridge', `${prefix}.p90.ratio`, bp90 / rp90);
    metrics.put('matrix.bridge', `${prefix}.ownMs.p50`, percentile(own, 50));
    metrics.put('matrix.bridge', `${prefix}.ownMs.p90`, percentile(own, 90));
    // The human's PUT until Synapse answered it: the part of both latencies spent before any sync can see the event.
    metrics.put('matrix.human', `${prefix}.put.p50`, percentile(put, 50));
    const ms = (us: number) => (us / 1000).toFixed(1);
    log(
      `  matrix latency vs ${peer}: bridge p50 ${ms(bp50)} p90 ${ms(bp90)} ms; raw sync p50 ${ms(rp50)} p90 ${ms(rp90)} ms; ` +
        `bridge − raw per message p10/p50/p90 ${ms(percentile(d, 10))}/${ms(percentile(d, 50))}/${ms(percentile(d, 90))} ms ` +
        `(${b.length} messages; bridge published ${this.bridge.stats.published - published0}, raw syncs ${raw.syncs - syncs0}; ` +
        `fastest ${ms(b[0])} / ${ms(r[0])} ms; the human's PUT p50 ${ms(percentile(put, 50))} ms; bridge's sync answer → agent event p50/p90/max ${percentile(own, 50)}/${percentile(own, 90)}/${own.at(-1)} ms)`,
    );
  }

  private async bridgeSends(n: MatrixCounts, metrics: Metrics, log: (s: string) => void): Promise<void> {
    const publishAll = async (count: number): Promise<number> => {
      const target = this.bridge.stats.outboundSent + count;
      const failed0 = this.bridge.stats.outboundFailed;
      const t0 = nowUs();
      for (let i = 0; i < count; i++) await this.agentBus.publish(OUTBOUND, { room_id: this.roomId, text: `bench send ${++this.sendSeq}` });
      const stopAt = Date.now() + SEND_PHASE_TIMEOUT_MS;
      while (this.bridge.stats.outboundSent < target) {
        if (this.bridge.stats.outboundFailed > failed0)
          throw new Error(`${this.bridge.stats.outboundFailed - failed0} bridge sends failed`);
        if (Date.now() > stopAt)
          throw new Error(
            `bridge sends: ${target - this.bridge.stats.outboundSent} of ${count} not sent after ${SEND_PHASE_TIMEOUT_MS / 1000} s`,
          );
        await sleep(1);
      }
      return (nowUs() - t0) / 1e6;
    };
    await publishAll(n.warmupSends);
    const limited0 = this.sendStats().rateLimited;
    const retried0 = this.sendStats().retried;
    const seconds = await publishAll(n.sends);
    const rate = n.sends / seconds;
    metrics.put('matrix.bridge', 'send.ops', rate);
    const limited = this.sendStats().rateLimited - limited0;
    const retried = this.sendStats().retried - retried0;
    if (limited) metrics.notes.push(`Matrix bridge sends: ${limited} 429 answers waited out despite the raised rate limit`);
    log(`  matrix sends bridge ${Math.round(rate)} sends/s (${n.sends} in ${seconds.toFixed(2)} s; 429s ${limited}, retried ${retried})`);
  }

  private async rawSends(n: MatrixCounts, metrics: Metrics, log: (s: string) => void): Promise<void> {
    let limited = 0;
    const putAll = async (count: number): Promise<number> => {
      const t0 = nowUs();
      for (let i = 0; i < count; i++) {
        const path = `rooms/${room(this.roomId)}/send/m.room.message/${encodeURIComponent(`bench.raw.${process.pid}.${++this.txnSeq}`)}`;
        const content = { msgtype: 'm.text', body: `bench send ${++this.sendSeq}` };
        for (;;) {
          try {
            await cs(this.synapse.baseUrl, this.bot.accessToken, 'PUT', path, content);
            break;
          } catch (err) {
            if (!(err instanceof HttpError) || err.status !== 429) throw err;
            limited++;
            const after = (JSON.parse(err.body || '{}') as { retry_after_ms?: number }).retry_after_ms ?? 1000;
            await sleep(after);
          }
        }
      }
      return (nowUs() - t0) / 1e6;
    };
    await putAll(n.warmupSends);
    limited = 0;
    const seconds = await putAll(n.sends);
    const rate = n.sends / seconds;
    metrics.put('matrix.raw', 'send.ops', rate);
    if (limited) metrics.notes.push(`Matrix raw PUTs: ${limited} 429 answers waited out despite the raised rate limit`);
    log(`  matrix sends raw    ${Math.round(rate)} sends/s (${n.sends} in ${seconds.toFixed(2)} s; 429s ${limited})`);
  }

  private sendStats(): { sent: number; rateLimited: number; retried: number } {
    return (
      (this.bridge.describe().sends as { sent: number; rateLimited: number; retried: number } | undefined) ?? {
        sent: 0,
        rateLimited: 0,
        retried: 0,
      }
    );
  }
}
