import { ErrorCodes, type ErrorPayload } from '@openagentio/nestjs';
import { GatewayHttpError } from '../gateway-errors.js';
import type { QuotaRefusal } from './quota-limiter.js';

const NOUN = { invoke: 'invokes', stream: 'stream opens', task: 'task submissions' } as const;

/** 429 BACKPRESSURE_DROP of a quota: names the quota and when to come back; retryable, unlike other gateway errors. */
export class QuotaExceededError extends GatewayHttpError {
  /** Whole seconds, as the Retry-After header says. */
  readonly retryAfterSeconds: number;

  constructor(r: QuotaRefusal) {
    const seconds = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
    super(
      ErrorCodes.BACKPRESSURE_DROP,
      `quota exceeded: ${NOUN[r.kind]} per ${r.scope} are limited to ${r.rate.perSecond} a second (burst ${r.rate.burst}); retry in ${seconds} s`,
      429,
      { quota: r.scope, kind: r.kind, retry_after_ms: r.retryAfterMs },
    );
    this.name = 'QuotaExceededError';
    this.retryAfterSeconds = seconds;
  }

  override toPayload(): ErrorPayload {
    return { ...super.toPayload(), retryable: true };
  }
}
