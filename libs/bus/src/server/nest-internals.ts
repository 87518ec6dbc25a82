// Every use of Nest's non-public API in this package, in one place. Nest does not export these parts from its
// package entries (deep imports) or declares them private (ExternalContextCreator's fields), so a Nest upgrade may
// change them without notice: test/nest/nest-internals.test.ts runs nestInternalsProblems() against the installed
// Nest and names what changed.
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import type { ExternalContextCreator } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import type { ParamsFactory } from '@nestjs/core/helpers/external-context-creator.js';
import { RpcParamtype } from '@nestjs/microservices/enums/rpc-paramtype.enum.js';

export { ExecutionContextHost, ROUTE_ARGS_METADATA, RpcParamtype, type ParamsFactory };

/** Nest's handler of exceptions for one method: its filters (method, class, global), or a rethrow. */
export interface ExceptionsHandler {
  next(exception: unknown, host: ExecutionContextHost): unknown;
}

interface NestExceptionsHandler extends ExceptionsHandler {
  invokeCustomFilters(exception: unknown, host: ExecutionContextHost): unknown;
}

interface FiltersContextCreator {
  create(instance: object, callback: unknown, moduleKey: string): NestExceptionsHandler;
}

interface EnhancerCreator {
  create(instance: object, callback: unknown, moduleKey: string): unknown[];
}

/** One parameter of a handler as Nest resolves it (`@Payload()`, `@Ctx()`, a custom decorator). */
export interface ParamMetadata {
  index: number;
  extractValue(...args: unknown[]): unknown;
  pipes: unknown[];
}

interface ModuleLike {
  hasProvider(token: unknown): boolean;
  controllers: Map<unknown, unknown>;
}

/** The private parts of ExternalContextCreator this package reads: the lists `create()` builds for a method. */
export interface CreatorInternals {
  pipesContextCreator: EnhancerCreator;
  guardsContextCreator: EnhancerCreator;
  interceptorsContextCreator: EnhancerCreator;
  filtersContextCreator?: FiltersContextCreator;
  modulesContainer: Map<string, ModuleLike>;
  transformToResult(result: unknown): unknown;
  getHostModuleKey?(instance: object, classRef: unknown, inquirerId?: string): string;
  getContextModuleKey(classRef: unknown): string;
  getMetadata(
    instance: object,
    methodName: string,
    metadataKey: string,
    paramsFactory: ParamsFactory,
    contextType: string,
  ): { argsLength: number; getParamsMetadata(moduleKey: string): ParamMetadata[] | null };
}

/** The one cast into ExternalContextCreator's private fields. */
export function creatorInternals(creator: ExternalContextCreator): CreatorInternals {
  return creator as unknown as CreatorInternals;
}

/**
 * What of the above the given creator (and this Nest install) lacks, by name; empty when everything this package
 * relies on is there. A Nest upgrade that renames or removes one of them shows up here first.
 */
export function nestInternalsProblems(creator: ExternalContextCreator): string[] {
  const c = creatorInternals(creator) as unknown as Record<string, unknown>;
  const problems: string[] = [];
  const fn = (o: unknown, key: string) => typeof (o as Record<string, unknown> | undefined)?.[key] === 'function';
  for (const key of ['pipesContextCreator', 'guardsContextCreator', 'interceptorsContextCreator', 'filtersContextCreator']) {
    if (!fn(c[key], 'create')) problems.push(`ExternalContextCreator.${key}.create()`);
  }
  for (const key of ['getContextModuleKey', 'getMetadata', 'transformToResult', 'create']) {
    if (!fn(c, key)) problems.push(`ExternalContextCreator.${key}()`);
  }
  if (!(c.modulesContainer instanceof Map)) problems.push('ExternalContextCreator.modulesContainer (a Map of modules)');
  if (fn(c.filtersContextCreator, 'create')) {
    const handler = (c.filtersContextCreator as FiltersContextCreator).create({}, () => undefined, '');
    if (!fn(handler, 'invokeCustomFilters') || !fn(handler, 'next')) problems.push('ExceptionsHandler.invokeCustomFilters()/next()');
  }
  if (typeof ROUTE_ARGS_METADATA !== 'string') problems.push('@nestjs/common/constants ROUTE_ARGS_METADATA');
  if (!fn(ExecutionContextHost.prototype, 'setType')) problems.push('@nestjs/core ExecutionContextHost.setType()');
  if (typeof RpcParamtype?.PAYLOAD !== 'number' || typeof RpcParamtype?.CONTEXT !== 'number') {
    problems.push('@nestjs/microservices RpcParamtype.PAYLOAD/CONTEXT');
  }
  return problems;
}

/** The exception-filter handler Nest builds for a method, for errors raised outside its pipeline. */
export function exceptionsHandlerFor(
  creator: ExternalContextCreator,
  instance: object,
  callback: (...a: unknown[]) => unknown,
): ExceptionsHandler | undefined {
  const c = creatorInternals(creator);
  return c.filtersContextCreator?.create(instance, callback, c.getContextModuleKey(instance.constructor));
}

/**
 * A view of the creator that hands Observable results back untouched: the creator reduces them to their last
 * value, but stream handlers need every value.
 */
export function keepingObservables(creator: ExternalContextCreator): ExternalContextCreator {
  return Object.create(creator, { transformToResult: { value: (r: unknown) => r } }) as ExternalContextCreator;
}

/**
 * Nest's exceptions handler logs an error no filter caught, then rethrows it; the bus logs the same failure again
 * with the error id its caller receives (countHandlerFailure). This view keeps the filters and the rethrow and
 * leaves the logging to the bus: one line per failure, with the id.
 */
function rethrowingFilters(filters: FiltersContextCreator): FiltersContextCreator {
  return Object.create(filters, {
    create: {
      value(instance: object, callback: unknown, moduleKey: string): NestExceptionsHandler {
        const handler = filters.create(instance, callback, moduleKey);
        return Object.create(handler, {
          next: {
            value(exception: unknown, host: ExecutionContextHost): unknown {
              const handled = handler.invokeCustomFilters(exception, host);
              if (handled !== undefined) return handled;
              throw exception;
            },
          },
        }) as NestExceptionsHandler;
      },
    },
  }) as FiltersContextCreator;
}

/**
 * The view of the creator the bus server uses. The creator looks for a handler's host module among providers
 * only, so for a controller it finds none and cannot resolve class-referenced guards, interceptors and filters
 * (`@UseGuards(AuthGuard)`): this view also looks among controllers. Its filters rethrow without logging (above).
 */
export function withControllerModules(creator: ExternalContextCreator): ExternalContextCreator {
  const filters = creatorInternals(creator).filtersContextCreator;
  return Object.create(creator, {
    ...(filters ? { filtersContextCreator: { value: rethrowingFilters(filters) } } : {}),
    getContextModuleKey: {
      value(this: CreatorInternals, ctor: unknown): string {
        if (!ctor) return '';
        for (const [key, moduleRef] of this.modulesContainer.entries()) {
          if (moduleRef.hasProvider(ctor) || moduleRef.controllers.has(ctor)) return key;
        }
        return '';
      },
    },
  }) as ExternalContextCreator;
}
