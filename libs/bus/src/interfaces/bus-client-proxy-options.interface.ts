import type { BusClient } from '../bus/bus-client.js';
import type { BusTransportConfig } from '../module/bus-module-options.interface.js';
import type { BusClientOptions } from './bus-client-options.interface.js';

/**
 * Options of `BusClientProxy` (`ClientsModule.register([{ name, customClass: BusClientProxy, options }])`).
 * Either `bus`, an existing connected BusClient (e.g. the app's, through `registerAsync` with
 * `inject: [BusClient]`), or the settings for a bus of its own.
 */
export interface BusClientProxyOptions extends Partial<BusClientOptions> {
  /** Use this BusClient (not closed by the proxy). */
  bus?: BusClient;
  /** The proxy's own bus: which transport (as in `BusModule`; default the in-process memory broker, or NATS_URL). */
  transport?: BusTransportConfig;
  /** Timeout of each `send` (ms); default the bus's `defaultStreamTimeout`. */
  timeout?: number;
}
