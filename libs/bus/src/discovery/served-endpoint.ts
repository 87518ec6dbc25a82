import type { HandlerOptions } from '../interfaces/call-options.interface.js';
import type { EndpointCounters } from './endpoint-counters.js';

/** What a handler's registration says about its target beyond serving it (HandlerOptions). */
export type TargetAbout = Pick<HandlerOptions, 'description' | 'tags' | 'inputSchema' | 'internal' | 'permissionPattern'>;

/** The TargetAbout of a handler's options; an inputSchema function is called once, when first read. */
export function aboutOf(options: HandlerOptions): TargetAbout {
  const { description, tags, inputSchema, internal, permissionPattern } = options;
  if (typeof inputSchema !== 'function') return { description, tags, inputSchema, internal, permissionPattern };
  let made: { schema?: Record<string, unknown> } | undefined;
  return { description, tags, inputSchema: () => (made ??= { schema: inputSchema() }).schema, internal, permissionPattern };
}

/**
 * A target as discovery sees it on the responder that serves it: its real subject and queue group, what the
 * handler's options say about it, and its counters. The responder's registrations are these.
 */
export interface ServedEndpoint {
  readonly target: string;
  readonly kind: 'invoke' | 'stream';
  readonly subject: string;
  readonly queue: string;
  readonly about: TargetAbout;
  readonly counters?: EndpointCounters;
}
