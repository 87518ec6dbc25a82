import { SetMetadata } from '@nestjs/common';
import type { QuotaKind } from './quota-options.js';

export const QUOTA_KIND = 'openagentio:quota-kind';

/** Marks a gateway route as counted against the `kind` quota (GatewayQuotaGuard reads it). */
export const QuotaFor = (kind: QuotaKind): MethodDecorator => SetMetadata(QUOTA_KIND, kind);
