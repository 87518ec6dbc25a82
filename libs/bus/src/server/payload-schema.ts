import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { describedDtoSchema } from '../discovery/dto-schema.js';

/** `RpcParamtype.PAYLOAD` of @nestjs/microservices: the key prefix `@Payload()` stores its parameter under. */
const PAYLOAD_PARAM = '3';

type JsonSchema = Record<string, unknown>;

/**
 * The input schema of a decorated handler, from the class-validator DTO its whole-payload parameter is typed with
 * (`@Payload() q: WeatherQuery`, or the first parameter of a method without parameter decorators): a function that
 * reads it when discovery first asks (the responder calls it once), so an app that never asks never loads
 * class-validator for it.
 * Undefined when the payload has no class type (`unknown`, an interface, a primitive).
 */
export function payloadSchemaOf(instance: object, methodName: string): (() => JsonSchema | undefined) | undefined {
  const types = Reflect.getMetadata('design:paramtypes', Object.getPrototypeOf(instance) as object, methodName) as unknown[] | undefined;
  if (!types || types.length === 0) return undefined;
  const params = Reflect.getMetadata(ROUTE_ARGS_METADATA, instance.constructor, methodName) as
    Record<string, { index: number; data?: unknown }> | undefined;
  let index: number | undefined;
  if (!params || Object.keys(params).length === 0) index = 0;
  else {
    for (const [key, p] of Object.entries(params)) {
      // `@Payload('field')` is a part of the payload, not its type.
      if (key.split(':')[0] === PAYLOAD_PARAM && p.data === undefined) index = p.index;
    }
  }
  if (index === undefined || typeof types[index] !== 'function') return undefined;
  const dto = types[index];
  return () => describedDtoSchema(dto);
}
