import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { IDENTITY_KEY, type GatewayRequest } from '../gateway-auth.js';
import type { GatewayModuleOptions } from '../gateway.options.js';
import { GATEWAY_MODULE_OPTIONS } from '../gateway.module-definition.js';
import { QuotaExceededError } from './quota-exceeded.error.js';
import { QuotaLimiter } from './quota-limiter.js';
import { QuotaMetrics } from './quota-metrics.js';
import type { QuotaKind } from './quota-options.js';

/**
 * The gateway's request quotas (the `quotas` option): one token per request of a kind from the caller's identity
 * bucket and its tenant's. Without the option every check is one property test.
 */
@Injectable()
export class QuotaService implements OnModuleDestroy {
  private readonly limiter?: QuotaLimiter;
  private readonly metrics?: QuotaMetrics;
  private readonly now: () => number;

  constructor(@Inject(GATEWAY_MODULE_OPTIONS) options: GatewayModuleOptions) {
    const q = options.quotas;
    this.now = q?.now ?? (() => performance.now());
    if (!q) return;
    const limiter = new QuotaLimiter(q);
    if (!limiter.limits) return;
    this.limiter = limiter;
    this.metrics = new QuotaMetrics(limiter);
  }

  /** Whether any quota is configured. */
  get active(): boolean {
    return this.limiter !== undefined;
  }

  /** Takes a `kind` token for the request, or sets `Retry-After` on `res` and throws the 429. */
  check(kind: QuotaKind, req: GatewayRequest, res: ServerResponse): void {
    const limiter = this.limiter;
    if (!limiter) return;
    const id = req[IDENTITY_KEY];
    // The identity as GatewayService.ownerKey sees it: anonymous callers share ''.
    const key = id ? `${id.tenant_id ?? ''}/${id.user_id ?? ''}/${id.subject ?? ''}` : '';
    const refusal = limiter.take(kind, key, id?.tenant_id, this.now());
    if (!refusal) {
      this.metrics!.recordAllowed(kind);
      return;
    }
    this.metrics!.recordRefused(kind, refusal.scope);
    const err = new QuotaExceededError(refusal);
    if (!res.headersSent) res.setHeader('retry-after', String(err.retryAfterSeconds));
    throw err;
  }

  onModuleDestroy(): void {
    this.metrics?.close();
  }
}
