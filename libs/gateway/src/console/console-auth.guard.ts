import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { GatewayAuthGuard } from '../gateway-auth.js';

/**
 * The gateway's own authentication for the console's API: GatewayModule's guard (bearer tokens or authenticator,
 * then its Nest guards), found wherever GatewayModule is imported in the application.
 */
@Injectable()
export class ConsoleAuthGuard implements CanActivate {
  private gatewayGuard?: GatewayAuthGuard;

  constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

  onApplicationBootstrap(): void {
    this.resolve();
  }

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.resolve().canActivate(context);
  }

  private resolve(): GatewayAuthGuard {
    if (this.gatewayGuard) return this.gatewayGuard;
    try {
      this.gatewayGuard = this.moduleRef.get(GatewayAuthGuard, { strict: false });
    } catch {
      throw new Error('ConsoleModule needs GatewayModule in the application: the console is served behind its authentication');
    }
    return this.gatewayGuard;
  }
}
