import type { Context, Span } from '@opentelemetry/api';

/** The caller span of a call and the context it was started in. */
export interface CallTrace {
  span: Span;
  parent: Context;
}
