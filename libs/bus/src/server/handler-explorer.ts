import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { HandlerMetadata } from '../decorators/handler-decorator.js';

/** A decorated method found on a controller or provider instance. */
export interface DecoratedMethod<M> {
  instance: Record<string, unknown>;
  className: string;
  methodName: string;
  method: (...args: unknown[]) => unknown;
  meta: M;
}

/**
 * The one scan for handler decorators (BusServer's `@Invoke`/`@Stream`/`@Subscribe`, TasksModule's `@Task`): every
 * method of a controller or provider instance (each instance once) that carries `metadataKey`.
 *
 * One scope rule for all of them: a handler lives in a singleton-scoped class. Nest makes request- and
 * transient-scoped classes per request or per consumer, so there is no one instance a bus handler could be called
 * on; such a method is refused with INVALID_REQUEST naming it, rather than skipped in silence.
 */
export function* decoratedMethods<M extends HandlerMetadata<string, unknown>>(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
  metadataKey: string,
  decoratorName: (meta: M) => string,
): Generator<DecoratedMethod<M>> {
  const seen = new Set<object>();
  for (const wrapper of [...discovery.getControllers(), ...discovery.getProviders()]) {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
    seen.add(instance);
    const proto = Object.getPrototypeOf(instance) as object | null;
    if (!proto) continue;
    for (const methodName of scanner.getAllMethodNames(proto)) {
      const method = (proto as Record<string, unknown>)[methodName];
      if (typeof method !== 'function') continue;
      const meta = Reflect.getMetadata(metadataKey, method) as M | undefined;
      if (!meta) continue;
      const className = instance.constructor.name;
      if (!wrapper.isDependencyTreeStatic()) {
        throw new BusError(
          ErrorCodes.INVALID_REQUEST,
          `${className}.${methodName} (@${decoratorName(meta)}('${meta.name}')): handlers must live in singleton-scoped classes (request/transient scope is not supported)`,
        );
      }
      yield { instance, className, methodName, method: method as (...args: unknown[]) => unknown, meta };
    }
  }
}
