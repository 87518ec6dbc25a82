import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import type { BusLogger } from '../runtime/bus-logger.js';
import { WarnLimiter } from '../runtime/warn-limiter.js';
import { MICRO_SCHEMAS } from './micro-schemas.js';
import { ServiceResponseTypes, type ServiceVerb } from './micro-types.js';

// ajv is CommonJS with `export default` typings; require() sidesteps the interop mismatch (as envelope-validator.ts).
const require = createRequire(import.meta.url);
const Ajv = require('ajv') as typeof import('ajv').default;

let compiled: Record<ServiceVerb, ValidateFunction> | undefined;

function validators(): Record<ServiceVerb, ValidateFunction> {
  if (!compiled) {
    const ajv = new Ajv({ strict: false, allErrors: false });
    compiled = { PING: ajv.compile(MICRO_SCHEMAS.PING), INFO: ajv.compile(MICRO_SCHEMAS.INFO), STATS: ajv.compile(MICRO_SCHEMAS.STATS) };
  }
  return compiled;
}

/** How many service ids a check remembers having warned about before it forgets them all (bounds its memory). */
const MAX_WARNED_IDS = 1_000;

/**
 * Holds Services API answers to their schema (micro-schemas.ts). Anyone allowed to publish to a reply subject can
 * answer, so a malformed answer is skipped, never thrown at whoever asked, and logged once per service id (and
 * at most 10 lines per 10 s in all, however many ids a flood makes up).
 */
export class MicroAnswerCheck {
  private readonly warned = new Set<string>();
  private readonly log?: WarnLimiter;

  constructor(logger?: BusLogger) {
    if (logger) this.log = new WarnLimiter(logger);
  }

  /**
   * True when `value` is a well-formed answer to `verb`, then filled in as the types say (null or absent
   * `metadata` `{}`, `endpoints` `[]`, `description` and `queue_group` `''`); false (and logged) when not.
   */
  accept(verb: ServiceVerb, value: unknown): boolean {
    const validate = validators()[verb];
    if (validate(value)) {
      fillIn(value as Answer);
      return true;
    }
    this.skipped(verb, value, validate.errors?.[0] ? `${validate.errors[0].instancePath || '(answer)'} ${validate.errors[0].message}` : '');
    return false;
  }

  /** Logs an answer skipped for `why`, unless one from its service id was logged already. */
  skipped(verb: ServiceVerb | 'announcement', value: unknown, why: string): void {
    if (!this.log) return;
    const raw = (value as { id?: unknown } | null)?.id;
    const id = typeof raw === 'string' ? raw.slice(0, 64) : '(none)';
    if (this.warned.has(id)) return;
    if (this.warned.size >= MAX_WARNED_IDS) this.warned.clear();
    this.warned.add(id);
    this.log.warn(`discovery: skipped a malformed ${verb} answer from service id ${JSON.stringify(id)}: ${why}`);
  }
}

/** The parts of an answer that may be null or absent on the wire. */
interface Answer {
  metadata?: Record<string, string> | null;
  description?: string | null;
  type: string;
  endpoints?: Array<{ metadata?: Record<string, string> | null; queue_group?: string }> | null;
}

function fillIn(a: Answer): void {
  a.metadata ??= {};
  if (a.type === ServiceResponseTypes.PING) return;
  a.endpoints ??= [];
  for (const ep of a.endpoints) {
    ep.queue_group ??= '';
    if (a.type === ServiceResponseTypes.INFO) ep.metadata ??= {};
  }
  if (a.type === ServiceResponseTypes.INFO) a.description ??= '';
}
