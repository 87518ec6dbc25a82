import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, ExternalContextCreator, MetadataScanner } from '@nestjs/core';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { BusClient } from '../bus/bus-client.js';
import type { BusSubscription } from '../interfaces/bus-subscription.interface.js';
import { currentCallContext, type CallContext } from '../context/call-context.js';
import { BusRpcContext } from '../ctx-host/bus-rpc-context.js';
import type { BusHandlerMetadata } from '../decorators/handler-metadata.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { HandlerContext } from '../interfaces/handler.interface.js';
import type { TransportStatus } from '../transport/transport.interface.js';
import { BUS_HANDLER_METADATA, BUS_TRANSPORT } from '../constants.js';
import { isThenable } from '../utils/is-thenable.js';
import { BusParamsFactory } from './bus-params-factory.js';
import { payloadSchemaOf } from './payload-schema.js';
import { serveNestPatterns, type ServedPattern } from './nest-pattern-handlers.js';
import { decoratedMethods, type DecoratedMethod } from './handler-explorer.js';
import {
  ExecutionContextHost,
  exceptionsHandlerFor,
  keepingObservables,
  ROUTE_ARGS_METADATA,
  withControllerModules,
  type ExceptionsHandler,
} from './nest-internals.js';
import { plainHandler } from './plain-handler.js';
import { adaptStreamResult, newStreamRecord, streamFromObservable, type StreamResultRecord } from './stream-result.js';

type NestHandler = (...args: unknown[]) => unknown;

const kindDecorator = { invoke: 'Invoke', stream: 'Stream', subscribe: 'Subscribe' } as const;

/** A handler BusServer found at bootstrap. */
export interface DiscoveredBusHandler {
  readonly kind: BusHandlerMetadata['kind'];
  readonly name: string;
  readonly className: string;
  readonly methodName: string;
  /**
   * `plain`: no guard, interceptor or pipe applies (method, class, global or parameter), so the method is
   * called directly with the same arguments and filters; `nest`: through Nest's full pipeline.
   */
  readonly pipeline: 'plain' | 'nest';
}

/**
 * The bus as a Nest custom transport strategy. At `listen()` it finds every `@Invoke`, `@Stream` and
 * `@Subscribe` method on controllers and providers, wraps each with Nest's external context creator (so
 * guards, interceptors, pipes and exception filters apply as on HTTP routes, global ones included), and
 * serves it on the injected BusClient's transport.
 *
 * @example
 * // HTTP app with the bus attached:
 * const app = await NestFactory.create(AppModule);
 * app.connectMicroservice({ strategy: app.get(BusServer) }, { inheritAppConfig: true });
 * await app.startAllMicroservices();
 * await app.listen(3000);
 */
@Injectable()
export class BusServer extends Server implements CustomTransportStrategy, OnApplicationBootstrap {
  override readonly transportId = BUS_TRANSPORT;
  private readonly registrations: BusSubscription[] = [];
  private readonly discovered: DiscoveredBusHandler[] = [];
  private readonly streamRecords = new WeakMap<CallContext, StreamResultRecord>();
  private readonly paramsFactory = new BusParamsFactory();
  private readonly invokeContextCreator: ExternalContextCreator;
  private readonly streamContextCreator: ExternalContextCreator;
  private serving = false;
  private patterns: ServedPattern[] = [];
  private readonly busLogger = new Logger('BusServer');

  constructor(
    private readonly bus: BusClient,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    contextCreator: ExternalContextCreator,
  ) {
    super();
    this.invokeContextCreator = withControllerModules(contextCreator);
    this.streamContextCreator = keepingObservables(this.invokeContextCreator);
  }

  listen(callback: (...optionalParams: unknown[]) => unknown): void {
    try {
      this.serve();
      // Nest has handed over its @MessagePattern/@EventPattern handlers (addHandler) by now.
      const { registrations, served } = serveNestPatterns(this, this.bus, this.busLogger);
      this.registrations.push(...registrations);
      this.patterns = served;
    } catch (err) {
      callback(err);
      return;
    }
    // Report ready only once the server has every subscription, so no early call meets NO_HANDLER.
    Promise.all(this.registrations.map((r) => r.ready)).then(
      () => callback(),
      (err: unknown) => callback(err),
    );
  }

  close(): void {
    for (const r of this.registrations.splice(0)) r.unsubscribe();
    this.serving = false;
  }

  /** `on('status', (status, detail) => …)`: the transport's connection status. */
  // Nest's Server declares on() with Function type parameters; the override must keep that signature.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  on<EventKey extends string = string, EventCallback extends Function = Function>(event: EventKey, callback: EventCallback): () => void {
    if (event !== 'status') throw new Error(`BusServer emits only "status" events, not "${event}"`);
    return this.bus.transport.onStatus(callback as unknown as (s: TransportStatus, d?: string) => void);
  }

  unwrap<T>(): T {
    return this.bus as unknown as T;
  }

  /** The `@MessagePattern`/`@EventPattern` handlers served, with their bus names. */
  get patternHandlers(): readonly ServedPattern[] {
    return this.patterns;
  }

  /** The handlers found at bootstrap (for diagnostics and documentation tools). */
  get handlers(): readonly DiscoveredBusHandler[] {
    return this.discovered;
  }

  /** Finds and registers every decorated handler. Idempotent. */
  serve(): void {
    if (this.serving) return;
    this.serving = true;
    for (const { instance, methodName, method, meta } of this.decoratedHandlers()) this.register(instance, methodName, method, meta);
    this.busLogger.log(`serving ${this.discovered.length} bus handler(s) as agent "${this.bus.agentId}" on ${this.bus.transport.kind}`);
  }

  /**
   * An app that declares handlers but never starts this server (no `connectMicroservice`) would leave its callers
   * with NO_HANDLER and nothing in its own log: one warning, naming them, once bootstrap has had time to start it.
   */
  onApplicationBootstrap(): void {
    const timer = setTimeout(() => this.warnIfUnserved(), BusServer.unservedWarningDelayMs);
    timer.unref();
  }

  /** How long after bootstrap an app may take to start its microservices before the warning. */
  static unservedWarningDelayMs = 2000;

  private warnIfUnserved(): void {
    if (this.serving) return;
    let names: string[];
    try {
      names = [...this.decoratedHandlers()].map(
        ({ className, methodName, meta }) => `${className}.${methodName} (@${kindDecorator[meta.kind]} '${meta.name}')`,
      );
    } catch (err) {
      // A handler in a request-scoped class: serve() would refuse it; say so now, in the same words.
      this.busLogger.warn(`bus handlers are not served: ${(err as Error).message}`);
      return;
    }
    if (names.length === 0) return;
    this.busLogger.warn(
      `${names.length} bus handler(s) are not served, so callers get NO_HANDLER: ${names.join(', ')}. ` +
        'Start the bus server: app.connectMicroservice({ strategy: app.get(BusServer) }) then await app.startAllMicroservices()',
    );
  }

  /** Every method with bus handler metadata on a controller or provider instance (each instance once). */
  private decoratedHandlers(): Generator<DecoratedMethod<BusHandlerMetadata>> {
    return decoratedMethods<BusHandlerMetadata>(this.discovery, this.scanner, BUS_HANDLER_METADATA, (m) => kindDecorator[m.kind]);
  }

  private register(
    instance: Record<string, unknown>,
    methodName: string,
    method: (...a: unknown[]) => unknown,
    meta: BusHandlerMetadata,
  ): void {
    const callback = meta.kind === 'stream' ? this.streamCallback(method) : method;
    const creator = meta.kind === 'stream' ? this.streamContextCreator : this.invokeContextCreator;
    // Invoke and event handlers without any guard, interceptor or pipe skip Nest's promise-heavy pipeline.
    const plain = meta.kind === 'stream' ? undefined : plainHandler(creator, instance, callback, methodName, this.paramsFactory);
    const handler =
      plain ??
      (creator.create(
        instance,
        callback,
        methodName,
        ROUTE_ARGS_METADATA,
        this.paramsFactory,
        undefined,
        undefined,
        { guards: true, interceptors: true, filters: true },
        'rpc',
      ) as NestHandler);
    if (meta.kind !== 'subscribe') {
      // The responder only knows the target's name; here both declarations are known.
      const prev = this.discovered.find((d) => d.kind !== 'subscribe' && d.name === meta.name);
      if (prev) {
        throw new BusError(
          ErrorCodes.INVALID_REQUEST,
          `target "${meta.name}" already has a handler: ${prev.className}.${prev.methodName} (@${kindDecorator[prev.kind]}) and ` +
            `${instance.constructor.name}.${methodName} (@${kindDecorator[meta.kind]}) both declare it`,
        );
      }
    }
    let registration: BusSubscription;
    // Discovery shows the payload's DTO as the target's input schema, unless the decorator gives one.
    const options =
      meta.options.inputSchema === undefined ? { ...meta.options, inputSchema: payloadSchemaOf(instance, methodName) } : meta.options;
    try {
      registration = this.registerWithBus(meta, handler, instance, callback, options);
    } catch (err) {
      if (err instanceof BusError && /already has a handler/.test(err.message)) {
        throw new BusError(ErrorCodes.INVALID_REQUEST, `${err.message} (declared again by ${instance.constructor.name}.${methodName})`);
      }
      throw err;
    }
    this.registrations.push(registration);
    this.discovered.push({
      kind: meta.kind,
      name: meta.name,
      className: instance.constructor.name,
      methodName,
      pipeline: plain ? 'plain' : 'nest',
    });
  }

  private registerWithBus(
    meta: BusHandlerMetadata,
    handler: NestHandler,
    instance: Record<string, unknown>,
    callback: (...a: unknown[]) => unknown,
    options: BusHandlerMetadata['options'],
  ): BusSubscription {
    switch (meta.kind) {
      case 'invoke':
        return this.bus.handleInvoke(meta.name, (payload, ctx) => this.runInvoke(handler, payload, ctx), options);
      case 'stream': {
        const filters = exceptionsHandlerFor(this.invokeContextCreator, instance, callback);
        return this.bus.handleStream(meta.name, (payload, ctx) => this.runStream(handler, filters, payload, ctx), options);
      }
      case 'subscribe':
        return this.bus.subscribe(meta.name, (payload) => this.runEvent(handler, payload), meta.options);
    }
  }

  // A @Stream method is wrapped so interceptors see each item of an async iterable (not the iterator object),
  // and so the server knows what the method returned. Nest reads guards, interceptors, pipes and filters from
  // the function's metadata, so the wrapper carries the same metadata.
  private streamCallback(method: (...a: unknown[]) => unknown): (...a: unknown[]) => unknown {
    const records = this.streamRecords;
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      const ctx = currentCallContext();
      const rec = (ctx && records.get(ctx)) ?? newStreamRecord();
      return adaptStreamResult(method.apply(this, args), rec);
    };
    for (const key of Reflect.getMetadataKeys(method)) {
      Reflect.defineMetadata(key, Reflect.getMetadata(key, method), wrapper);
    }
    Object.defineProperty(wrapper, 'name', { value: method.name });
    return wrapper;
  }

  // Not async: a handler that returns a plain value answers without a promise (see plainHandler).
  private runInvoke(handler: NestHandler, payload: unknown, ctx: HandlerContext): unknown {
    const result = handler(payload, new BusRpcContext(ctx));
    if (isThenable(result)) return result.then(lastOfObservable);
    return lastOfObservable(result);
  }

  private async runStream(
    handler: NestHandler,
    filters: ExceptionsHandler | undefined,
    payload: unknown,
    ctx: HandlerContext,
  ): Promise<unknown> {
    const store = currentCallContext();
    const rec = newStreamRecord();
    if (store) this.streamRecords.set(store, rec);
    const rpc = new BusRpcContext(ctx, ctx.writer);
    const result = await (handler(payload, rpc) as Promise<unknown>);
    if (!isObservable(result)) return result;
    const items = streamFromObservable(result, rec);
    return filters ? filterStreamErrors(items, (err) => applyFilters(filters, err, [payload, rpc])) : items;
  }

  private async runEvent(handler: NestHandler, payload: unknown): Promise<void> {
    const ctx = currentCallContext();
    if (!ctx) return;
    const result = await handler(payload, new BusRpcContext(ctx));
    if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
  }
}

/** What the pipeline's result (or an exception filter's) stands for: the last value of an Observable. */
function lastOfObservable(result: unknown): unknown {
  return isObservable(result) ? lastValueFrom(result, { defaultValue: undefined }) : result;
}

/** Runs the method's exception filters on a stream error: a filter that throws (or returns an erroring Observable) replaces it. */
async function applyFilters(filters: ExceptionsHandler, err: unknown, args: unknown[]): Promise<unknown> {
  const host = new ExecutionContextHost(args);
  host.setType('rpc');
  const r = filters.next(err, host);
  return isObservable(r) ? lastValueFrom(r, { defaultValue: undefined }) : r;
}

/** Passes the items through; an error is handed to `onError`, whose result (or throw) ends the stream. */
async function* filterStreamErrors(
  source: AsyncGenerator<unknown, unknown, undefined>,
  onError: (err: unknown) => Promise<unknown>,
): AsyncGenerator<unknown, unknown, undefined> {
  let finished = false;
  try {
    for (;;) {
      let r: IteratorResult<unknown, unknown>;
      try {
        r = await source.next();
      } catch (err) {
        finished = true;
        return await onError(err);
      }
      if (r.done) {
        finished = true;
        return r.value;
      }
      yield r.value;
    }
  } finally {
    if (!finished) await source.return(undefined);
  }
}
