import type { ParamData } from '@nestjs/common';
import { RpcParamtype, type ParamsFactory } from './nest-internals.js';

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
