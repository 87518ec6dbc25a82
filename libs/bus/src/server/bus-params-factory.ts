import type { ParamData } from '@nestjs/common';
import type { ParamsFactory } from '@nestjs/core/helpers/external-context-creator.js';
import { RpcParamtype } from '@nestjs/microservices/enums/rpc-paramtype.enum.js';

/** Resolves Nest's RPC parameter types (`@Payload()`, `@Ctx()`) for bus handlers: args are [payload, BusRpcContext]. */
export class BusParamsFactory implements ParamsFactory {
  exchangeKeyForValue(type: number, data: ParamData, args: unknown[]): unknown {
    if (!args) return null;
    switch (type) {
      case RpcParamtype.PAYLOAD: {
        const payload = args[0] as Record<string, unknown> | undefined;
        return data !== undefined && (typeof data === 'string' || typeof data === 'number') ? payload?.[data] : payload;
      }
      case RpcParamtype.CONTEXT:
        return args[1];
      default:
        return null;
    }
  }
}
