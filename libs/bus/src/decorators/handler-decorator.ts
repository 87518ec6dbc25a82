import { SetMetadata } from '@nestjs/common';

/** What a handler decorator records on its method: which kind of handler, for which name, with which options. */
export interface HandlerMetadata<K extends string, O> {
  kind: K;
  /** Invoke/stream/task target, or event pattern for subscribers. */
  name: string;
  options: O;
}

/**
 * The one way this package makes a method decorator (`@Invoke`, `@Stream`, `@Subscribe`, `@Task`): the name is
 * checked by the caller, and the metadata goes under `key` (constants.ts), where the handler explorer finds it.
 */
export function handlerDecorator<K extends string, O>(key: string, kind: K, name: string, options: O): MethodDecorator {
  return SetMetadata<string, HandlerMetadata<K, O>>(key, { kind, name, options });
}
