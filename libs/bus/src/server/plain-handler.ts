import type { ExternalContextCreator } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import { isThenable } from '../utils/is-thenable.js';
import { creatorInternals, ExecutionContextHost, ROUTE_ARGS_METADATA, type ParamsFactory } from './nest-internals.js';

/** A handler called as `(payload, rpcContext)`; its result may be a value or a promise. */
export type PlainHandler = (payload: unknown, rpc: unknown) => unknown;

/**
 * For a method with no guard, interceptor or pipe anywhere (method, class, module-global or app-global, nor on a
 * parameter), Nest's pipeline only resolves the arguments, calls the method, awaits its result (the last value
 * of an Observable) and hands exceptions to the filters, through about ten promises per call. This does the same
 * without them: the arguments come from the same parameter metadata, exceptions go to the same filters (a
 * rethrow when none matches). Returns undefined when the method has any enhancer: it then takes Nest's pipeline.
 */
export function plainHandler(
  creator: ExternalContextCreator,
  instance: object,
  callback: (...args: unknown[]) => unknown,
  methodName: string,
  paramsFactory: ParamsFactory,
): PlainHandler | undefined {
  const c = creatorInternals(creator);
  if (!c.filtersContextCreator || typeof c.getMetadata !== 'function') return undefined;
  const classRef = instance.constructor;
  const moduleKey = c.getHostModuleKey?.(instance, classRef) || c.getContextModuleKey(classRef);
  if (c.pipesContextCreator.create(instance, callback, moduleKey).length > 0) return undefined;
  if (c.guardsContextCreator.create(instance, callback, moduleKey).length > 0) return undefined;
  if (c.interceptorsContextCreator.create(instance, callback, moduleKey).length > 0) return undefined;
  const { argsLength, getParamsMetadata } = c.getMetadata(instance, methodName, ROUTE_ARGS_METADATA, paramsFactory, 'rpc');
  const params = getParamsMetadata(moduleKey) ?? [];
  if (params.some((p) => p.pipes.length > 0)) return undefined;
  const filters = c.filtersContextCreator.create(instance, callback, moduleKey);
  const onError = (err: unknown, payload: unknown, rpc: unknown): unknown => {
    const host = new ExecutionContextHost([payload, rpc]);
    host.setType('rpc');
    return filters.next(err, host);
  };
  const settle = (value: unknown): unknown => (isObservable(value) ? lastValueFrom(value) : value);
  return (payload, rpc) => {
    let result: unknown;
    try {
      let args: unknown[];
      if (params.length === 0) args = [payload, rpc];
      else {
        args = new Array<unknown>(argsLength).fill(undefined);
        for (const p of params) args[p.index] = p.extractValue(payload, rpc);
      }
      result = callback.apply(instance, args);
      if (!isObservable(result) && !isThenable(result)) return result;
    } catch (err) {
      return onError(err, payload, rpc);
    }
    const settled = isThenable(result) ? result.then(settle) : settle(result);
    return (settled as Promise<unknown>).catch((err: unknown) => onError(err, payload, rpc));
  };
}
