import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { RegExpEngine, RegExpLike } from 'ajv/dist/types/index.js';
import { RE2JS } from 're2js';
import { BusError, ErrorCodes } from '@openagentio/nestjs';

// ajv and ajv-formats are CommonJS with `export default` typings; require() sidesteps the interop mismatch.
const require = createRequire(import.meta.url);
const AjvDraft7 = require('ajv') as typeof import('ajv').default;
const Ajv2020 = require('ajv/dist/2020.js') as typeof import('ajv').default;
const addFormats = require('ajv-formats') as (ajv: InstanceType<typeof AjvDraft7>) => unknown;

/**
 * The regex engine of the schemas' `pattern` and `patternProperties`: RE2 (re2js), linear in the string tested. The
 * patterns come from the MCP server's tool schemas and the strings from bus callers: with the native engine, a
 * server's `^(a+)+$` would let one caller's argument block the event loop. A pattern RE2 cannot compile (a
 * backreference, a lookaround) is not checked by the bridge; the server checks it.
 */
const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string): RegExpLike => {
    try {
      const re = RE2JS.compile(pattern);
      // Ajv caches compiled patterns by toString().
      return { test: (s: string) => re.test(s), toString: () => `re2:${pattern}` } as RegExpLike;
    } catch {
      return { test: () => true, toString: () => `unchecked:${pattern}` } as RegExpLike;
    }
  },
  { code: 'linearRegExp' },
);

let draft7: InstanceType<typeof AjvDraft7> | undefined;
let draft2020: InstanceType<typeof AjvDraft7> | undefined;

function ajvFor(schema: Record<string, unknown>): InstanceType<typeof AjvDraft7> {
  const s = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (s.includes('2020-12') || s.includes('2019-09')) {
    if (!draft2020) {
      draft2020 = new Ajv2020({ allErrors: true, strict: false, validateSchema: false, code: { regExp: linearRegExp } });
      addFormats(draft2020);
    }
    return draft2020;
  }
  if (!draft7) {
    draft7 = new AjvDraft7({ allErrors: true, strict: false, validateSchema: false, code: { regExp: linearRegExp } });
    addFormats(draft7);
  }
  return draft7;
}

/** A compiled tool input schema: `check(args)` throws INVALID_REQUEST naming the bad fields. */
export interface ArgumentValidator {
  check(args: Record<string, unknown>, what: string): void;
}

/**
 * Compiles a JSON Schema (draft-07, as the v1 SDK emits, or 2020-12 when `$schema` says so) with Ajv.
 * A schema Ajv cannot compile yields `undefined` (the call then goes out unvalidated; the server checks).
 */
export function compileArgumentValidator(schema: unknown, onCompileError?: (err: Error) => void): ArgumentValidator | undefined {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  let s = schema as Record<string, unknown>;
  const meta = typeof s.$schema === 'string' ? s.$schema : undefined;
  if (meta && !/draft-07|2020-12|2019-09/.test(meta)) {
    const { $schema: _drop, ...rest } = s;
    s = rest;
  }
  // Schemas are compiled once per tool; drop a top-level $id so two tools with the same $id do not collide.
  if (typeof s.$id === 'string') {
    const { $id: _id, ...rest } = s;
    s = rest;
  }
  let validate: ValidateFunction;
  try {
    validate = ajvFor(s).compile(s);
  } catch (err) {
    onCompileError?.(err as Error);
    return undefined;
  }
  return {
    check(args, what) {
      if (validate(args)) return;
      const errors = (validate.errors ?? []) as ErrorObject[];
      const fields = [...new Set(errors.map(fieldOf))];
      const messages = errors.map((e) => `${fieldOf(e)} ${e.message ?? 'is invalid'}`);
      throw new BusError(ErrorCodes.INVALID_REQUEST, `invalid arguments for ${what}: ${messages.join('; ')}`, {
        cause: { fields, errors: messages },
      });
    },
  };
}

/** A compiled tool output schema: `check(structuredContent)` throws INVALID_REQUEST when the result does not match. */
export interface OutputValidator {
  check(result: { structuredContent?: unknown; isError?: boolean }, what: string): void;
}

/**
 * Compiles a tool's output schema (what the SDK client checked while the bridge used its listTools): a result
 * without structuredContent, or with one that does not match, is INVALID_REQUEST. A schema Ajv cannot compile
 * yields `undefined` (results then go unchecked).
 */
export function compileOutputValidator(schema: unknown, onCompileError?: (err: Error) => void): OutputValidator | undefined {
  const inner = compileArgumentValidator(schema, onCompileError);
  if (!inner) return undefined;
  return {
    check(result, what) {
      if (result.isError) return;
      const sc = result.structuredContent;
      if (!sc || typeof sc !== 'object' || Array.isArray(sc)) {
        throw new BusError(ErrorCodes.INVALID_REQUEST, `${what} has an output schema but returned no structured content`);
      }
      try {
        inner.check(sc as Record<string, unknown>, what);
      } catch (err) {
        const e = err as BusError;
        const detail = e.message.replace(/^invalid arguments for [^:]*: /, '');
        throw new BusError(ErrorCodes.INVALID_REQUEST, `structured content of ${what} does not match its output schema: ${detail}`, {
          cause: e.details,
        });
      }
    },
  };
}

/** The field an Ajv error is about: the missing property, the extra property, or the instance path. */
function fieldOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  const base = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '';
  const child =
    e.keyword === 'required'
      ? (p.missingProperty as string)
      : e.keyword === 'additionalProperties'
        ? (p.additionalProperty as string)
        : undefined;
  if (child !== undefined) return base ? `${base}.${child}` : child;
  return base || '(arguments)';
}
