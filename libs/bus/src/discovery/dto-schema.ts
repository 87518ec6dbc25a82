import { createRequire } from 'node:module';
import { MissingPackageError } from '../utils/load-package.js';

type ClassValidator = typeof import('class-validator');
let loaded: ClassValidator | undefined;

// class-validator is an optional peer (only DTOs need it, and an app with DTOs has it); it is CommonJS, so it loads
// synchronously.
function classValidator(): ClassValidator {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('class-validator') as ClassValidator;
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND')
      throw new MissingPackageError('class-validator', 'schemaFromDto (a DTO as a JSON Schema)');
    throw err;
  }
  return loaded;
}

type Schema = Record<string, unknown>;
type Ctor = abstract new (...args: never[]) => unknown;

interface Meta {
  type: string;
  name?: string;
  propertyName: string;
  constraints?: unknown[];
  each?: boolean;
}

const getDesignType = (target: object, prop: string): unknown => {
  const r = Reflect as unknown as { getMetadata?: (k: string, t: object, p: string) => unknown };
  return r.getMetadata?.('design:type', target, prop);
};

/**
 * A JSON Schema (draft-07 subset) for a class-validator DTO, read from `getMetadataStorage()`: what discovery shows
 * as a target's input schema and the MCP endpoint as a tool's. Best effort:
 * type checks (`IsString`, `IsInt`, `IsNumber`, `IsBoolean`, `IsArray`, `IsObject`), `IsIn`/`IsEnum`,
 * `Min`/`Max`, `MinLength`/`MaxLength`, `Matches`, `IsEmail`/`IsUUID`/`IsUrl`/`IsDateString` formats,
 * `IsOptional` (else the property is required), `each: true` (array items) and `ValidateNested` with a
 * class design type (emitDecoratorMetadata). Unknown decorators add nothing; the bus handler's own
 * validation stays authoritative.
 */
export function schemaFromDto(dto: Ctor, depth = 0): Schema {
  const { getMetadataStorage, ValidationTypes } = classValidator();
  // class-validator's metadata API is typed with Function.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  const metas = getMetadataStorage().getTargetValidationMetadatas(dto as unknown as Function, '', false, false) as unknown as Meta[];
  const byProp = new Map<string, Meta[]>();
  for (const m of metas) {
    if (!byProp.has(m.propertyName)) byProp.set(m.propertyName, []);
    byProp.get(m.propertyName)!.push(m);
  }
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const [prop, list] of byProp) {
    let s: Schema = {};
    let optional = false;
    let each = false;
    for (const m of list) {
      if (m.type === ValidationTypes.CONDITIONAL_VALIDATION && (m.name === 'isOptional' || m.name === undefined)) {
        optional = true;
        continue;
      }
      if (m.each) each = true;
      if (m.type === ValidationTypes.NESTED_VALIDATION && depth < 5) {
        const t = getDesignType((dto as unknown as { prototype: object }).prototype, prop);
        if (typeof t === 'function' && t !== Array && t !== Object) Object.assign(s, schemaFromDto(t as Ctor, depth + 1));
        else if (!s.type) s.type = 'object';
        continue;
      }
      if (m.type !== ValidationTypes.CUSTOM_VALIDATION || !m.name) continue;
      const c = m.constraints ?? [];
      switch (m.name) {
        case 'isString':
        case 'isNotEmpty':
          if (m.name === 'isString') s.type = 'string';
          if (m.name === 'isNotEmpty' && s.type === 'string') s.minLength = Math.max(1, (s.minLength as number) ?? 1);
          break;
        case 'isInt':
          s.type = 'integer';
          break;
        case 'isNumber':
        case 'isNumberString':
          s.type = m.name === 'isNumber' ? 'number' : 'string';
          break;
        case 'isBoolean':
          s.type = 'boolean';
          break;
        case 'isArray':
          s.type = 'array';
          break;
        case 'isObject':
          s.type = 'object';
          break;
        case 'isIn':
          if (Array.isArray(c[0])) s.enum = c[0];
          break;
        case 'isEnum':
          if (c[0] && typeof c[0] === 'object') {
            const values = Object.entries(c[0] as Record<string, unknown>)
              .filter(([k]) => !/^\d+$/.test(k))
              .map(([, v]) => v);
            s.enum = [...new Set(values)];
          }
          break;
        case 'min':
          s.minimum = c[0];
          break;
        case 'max':
          s.maximum = c[0];
          break;
        case 'isPositive':
          s.exclusiveMinimum = 0;
          break;
        case 'minLength':
          s.minLength = c[0];
          break;
        case 'maxLength':
          s.maxLength = c[0];
          break;
        case 'length':
          s.minLength = c[0];
          if (typeof c[1] === 'number') s.maxLength = c[1];
          break;
        case 'matches':
          if (c[0] instanceof RegExp) s.pattern = c[0].source;
          else if (typeof c[0] === 'string') s.pattern = c[0];
          break;
        case 'isEmail':
          s.type = 'string';
          s.format = 'email';
          break;
        case 'isUuid':
        case 'isUUID':
          s.type = 'string';
          s.format = 'uuid';
          break;
        case 'isUrl':
        case 'isURL':
          s.type = 'string';
          s.format = 'uri';
          break;
        case 'isDateString':
        case 'isISO8601':
          s.type = 'string';
          s.format = 'date-time';
          break;
        case 'arrayMinSize':
          s.type = 'array';
          s.minItems = c[0];
          break;
        case 'arrayMaxSize':
          s.type = 'array';
          s.maxItems = c[0];
          break;
        default:
          break;
      }
    }
    if (each) {
      const { minItems, maxItems, ...item } = s;
      if (item.type === 'array') delete item.type;
      s = { type: 'array', items: item };
      if (minItems !== undefined) s.minItems = minItems;
      if (maxItems !== undefined) s.maxItems = maxItems;
    }
    properties[prop] = s;
    if (!optional) required.push(prop);
  }
  const out: Schema = { type: 'object', properties };
  if (required.length > 0) out.required = required;
  return out;
}

/**
 * The schema of a DTO class that class-validator describes, or undefined: a class without validation decorators
 * (or no class-validator installed) says nothing a schema could.
 */
export function describedDtoSchema(dto: unknown): Schema | undefined {
  if (typeof dto !== 'function' || NOT_DTOS.has(dto)) return undefined;
  let cv: ClassValidator;
  try {
    cv = classValidator();
  } catch {
    return undefined;
  }
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  const metas = cv.getMetadataStorage().getTargetValidationMetadatas(dto as Function, '', false, false);
  return metas.length > 0 ? schemaFromDto(dto as unknown as Ctor) : undefined;
}

/** Parameter types that are never DTOs (what TypeScript records for `unknown`, primitives and the like). */
const NOT_DTOS = new Set<unknown>([Object, String, Number, Boolean, Array, Promise, Function, Symbol, BigInt, Date, Map, Set]);
