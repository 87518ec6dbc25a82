import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { BusClient } from '../bus/bus-client.js';
import { BusError } from '../errors/bus-error.js';
import { toBusError } from '../errors/to-bus-error.js';
import type { BusClientProxyOptions } from '../interfaces/bus-client-proxy-options.interface.js';
import { createTransport } from '../module/create-transport.js';
import { EventTypes, type Envelope } from '../protocol/envelope.js';
import { resultOf } from '../caller/result-of.js';
import { patternToTarget } from '../utils/pattern-target.js';

/**
 * A Nest `ClientProxy` over the bus, so code written for `ClientsModule` and `Transport.NATS` (or TCP, Redis…)
 * switches transport with one line and keeps `client.send()` / `client.emit()`:
 *
 * - `send(pattern, data)` is a bus stream to the pattern's target (see `patternToTarget`): each delta is
 *   emitted (`{data}` as its value), then the Observable completes; a target that sends no delta (an `@Invoke`
 *   handler) emits its result once. Unsubscribing cancels the call at the responder.
 * - `emit(pattern, data)` publishes a bus event of that type.
 * - A failed call errors the Observable with the handler's RPC error object when there is one (what
 *   `RpcException` or Nest's exception filter produced, e.g. `{ status: 'error', message: 'Internal server error' }`),
 *   else `{ status: 'error', message, code }` with the bus error code (NO_HANDLER, AGENT_TIMEOUT, …).
 * Calls made inside a bus handler carry its session, trace and remaining deadline, as `bus.invoke` does.
 *
 * @example
 * ClientsModule.register([{ name: 'MATH', customClass: BusClientProxy, options: { transport: { nats: { servers } } } }])
 */
export class BusClientProxy extends ClientProxy {
  private connecting?: Promise<BusClient>;
  private bus?: BusClient;

  constructor(private readonly proxyOptions: BusClientProxyOptions = {}) {
    super();
  }

  /** Connects the proxy's bus (once; `send` and `emit` call it). */
  connect(): Promise<BusClient> {
    return (this.connecting ??= this.open().catch((err) => {
      this.connecting = undefined;
      throw err;
    }));
  }

  async close(): Promise<void> {
    const own = this.proxyOptions.bus === undefined;
    const bus = this.bus;
    this.connecting = undefined;
    this.bus = undefined;
    if (own && bus) await bus.close();
  }

  /** The BusClient (after connect). */
  unwrap<T>(): T {
    if (!this.bus) throw new Error('BusClientProxy is not connected yet: call connect() (send and emit do)');
    return this.bus as unknown as T;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const bus = this.bus!;
    const abort = new AbortController();
    let target: string;
    try {
      target = patternToTarget(this.normalizePattern(packet.pattern));
    } catch (err) {
      callback({ err: rpcError(toBusError(err)) });
      return () => undefined;
    }
    const call = bus.stream(target, packet.data, { signal: abort.signal, timeout: this.proxyOptions.timeout });
    void (async () => {
      let emitted = false;
      try {
        for await (const frame of call) {
          if (frame.event_type === EventTypes.DELTA) {
            emitted = true;
            callback({ response: deltaValue(frame) });
          } else if (frame.event_type === EventTypes.FINAL && !emitted) {
            const result = resultOf(frame);
            if (result !== undefined) callback({ response: result });
          }
        }
        callback({ isDisposed: true });
      } catch (err) {
        if (!abort.signal.aborted) callback({ err: rpcError(toBusError(err)) });
      }
    })();
    return () => abort.abort();
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const bus = await this.connect();
    const eventType = patternToTarget(this.normalizePattern(packet.pattern), 'event');
    return (await bus.publish(eventType, packet.data)) as T;
  }

  private async open(): Promise<BusClient> {
    const { bus: given, transport, timeout: _timeout, ...busOptions } = this.proxyOptions;
    if (given) {
      await given.connect();
      return (this.bus = given);
    }
    const bus = new BusClient(await createTransport(transport), { ...busOptions, agentId: busOptions.agentId ?? 'nest-client' });
    await bus.connect();
    return (this.bus = bus);
  }
}

/** A delta's value: `{data}` as Nest pattern handlers send it, a text delta's text, else the payload. */
function deltaValue(frame: Envelope): unknown {
  const p = frame.payload as Record<string, unknown> | undefined;
  if (p && typeof p === 'object') {
    if ('data' in p) return p.data;
    if (typeof p.delta === 'string') return p.delta;
  }
  return p;
}

/** The error a Nest client sees: the handler's RPC error object when it sent one, else the bus error's shape. */
function rpcError(err: BusError): Record<string, unknown> {
  const d = err.details;
  if (d && (d.status === 'error' || typeof d.message === 'string' || typeof d.code === 'string')) return d;
  return { status: 'error', message: err.message, code: err.code };
}
