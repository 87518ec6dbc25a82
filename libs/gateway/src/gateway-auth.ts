import { Inject, Injectable, type CanActivate, type ExecutionContext, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { ErrorCodes } from '@openagentio/nestjs';
import { stripUndefined } from '@openagentio/nestjs/internal/utils/strip-undefined.js';
import { bearerTokenOf, findToken } from '@openagentio/nestjs-bridges/internal/http/bearer-token.js';
import { GatewayHttpError } from './gateway-errors.js';
import { resolveGatewayOptions, type GatewayIdentity, type GatewayModuleOptions, type ResolvedGatewayOptions } from './gateway.options.js';
import { GATEWAY_MODULE_OPTIONS } from './gateway.module-definition.js';

export const IDENTITY_KEY = 'gatewayIdentity';

/** Request as the gateway sees it (express request with what the guard attached). */
export type GatewayRequest = IncomingMessage & {
  [IDENTITY_KEY]?: GatewayIdentity | null;
  user?: unknown;
  query?: Record<string, unknown>;
  body?: unknown;
  _body?: boolean;
  originalUrl?: string;
};

/** The bearer token of a request (`Authorization: Bearer …`, or `?access_token=` when allowed). */
export function bearerToken(req: GatewayRequest, allowQuery: boolean): string | undefined {
  const fromHeader = bearerTokenOf(req.headers.authorization);
  if (fromHeader) return fromHeader;
  if (allowQuery && req.method === 'GET') {
    const q = req.query?.access_token;
    if (typeof q === 'string' && q) return q;
  }
  return undefined;
}

/** Reads an identity from `req.user` as set by Passport-style guards. */
export function identityFromUser(user: unknown): GatewayIdentity | undefined {
  if (!user || typeof user !== 'object') return undefined;
  const u = user as Record<string, unknown>;
  const str = (...keys: string[]) => keys.map((k) => u[k]).find((v) => typeof v === 'string' && v) as string | undefined;
  return {
    subject: str('subject', 'sub', 'username', 'id'),
    tenant_id: str('tenant_id', 'tenantId', 'tenant'),
    user_id: str('user_id', 'userId', 'sub', 'id'),
  };
}

/**
 * Authenticates every gateway request: the configured bearer-token map or authenticator, then the configured
 * Nest guards. Without any, requests are anonymous. Failure is 401 AUTH_FAILURE.
 */
@Injectable()
export class GatewayAuthGuard implements CanActivate {
  private readonly options: ResolvedGatewayOptions;
  private readonly guardInstances = new Map<Type<CanActivate>, CanActivate>();

  constructor(
    @Inject(GATEWAY_MODULE_OPTIONS) options: GatewayModuleOptions,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {
    this.options = resolveGatewayOptions(options);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<GatewayRequest>();
    if (req.method === 'OPTIONS') return true;
    req[IDENTITY_KEY] = await this.authenticate(req);
    for (const type of this.options.guards) {
      const guard = await this.guard(type);
      let ok: boolean;
      try {
        const r = guard.canActivate(context);
        ok =
          typeof (r as { subscribe?: unknown }).subscribe === 'function'
            ? await firstValue(r as never)
            : await (r as boolean | Promise<boolean>);
      } catch (err) {
        throw new GatewayHttpError(ErrorCodes.AUTH_FAILURE, (err as Error)?.message || 'unauthenticated', 401);
      }
      if (!ok) throw new GatewayHttpError(ErrorCodes.AUTH_FAILURE, 'unauthenticated', 401);
      const fromUser = identityFromUser(req.user);
      if (fromUser) req[IDENTITY_KEY] = { ...(req[IDENTITY_KEY] ?? {}), ...stripUndefined(fromUser) };
    }
    return true;
  }

  private async authenticate(req: GatewayRequest): Promise<GatewayIdentity | null> {
    const auth = this.options.auth;
    if (!auth) return null;
    const token = bearerToken(req, this.options.allowQueryToken);
    let identity: GatewayIdentity | undefined;
    if (typeof auth === 'function') {
      try {
        identity = await auth(req, token);
      } catch (err) {
        throw new GatewayHttpError(ErrorCodes.AUTH_FAILURE, (err as Error)?.message || 'unauthenticated', 401);
      }
    } else {
      // Compared in constant time against every configured token, not looked up by key.
      const match = findToken(token, Object.keys(auth.bearerTokens));
      if (match !== undefined) identity = auth.bearerTokens[match];
    }
    if (!identity) throw new GatewayHttpError(ErrorCodes.AUTH_FAILURE, token ? 'invalid bearer token' : 'missing bearer token', 401);
    return identity;
  }

  private async guard(type: Type<CanActivate>): Promise<CanActivate> {
    let g = this.guardInstances.get(type);
    if (g) return g;
    try {
      g = this.moduleRef.get(type, { strict: false });
    } catch {
      g = await this.moduleRef.create(type);
    }
    this.guardInstances.set(type, g!);
    return g!;
  }
}

function firstValue(obs: {
  subscribe(o: { next(v: boolean): void; error(e: unknown): void; complete(): void }): unknown;
}): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let done = false;
    obs.subscribe({
      next: (v) => {
        if (!done) {
          done = true;
          resolve(v);
        }
      },
      error: reject,
      complete: () => {
        if (!done) resolve(false);
      },
    });
  });
}
