import { ErrorCodes } from '@openagentio/nestjs';
import { BridgeError } from '../errors/bridge-error.js';
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { BridgeDefinition } from '../interfaces/bridge.interface.js';

/** The only document version this runtime reads (docs/protocol.md §6). */
export const BRIDGE_CONFIG_VERSION = 'openagentio.bridge/v1';

/** A parsed upstream bridge configuration document. */
export interface BridgeConfigDocument {
  version: typeof BRIDGE_CONFIG_VERSION;
  bridges: BridgeDefinition[];
}

/** Where a document comes from: a file path (YAML or JSON), YAML/JSON text, or an already-parsed object. */
export type BridgeConfigSource = string | { path: string } | { text: string; format?: 'yaml' | 'json' } | Record<string, unknown>;

/** A start-up error in a bridge configuration document; the message names the offending key. */
export class BridgeConfigError extends BridgeError {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(ErrorCodes.INVALID_REQUEST, message);
    this.name = 'BridgeConfigError';
  }
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed document. An unset variable without a
 * default is an error naming the variable and the key where it appeared (`$$` is not special).
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv = process.env, path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(VAR, (_m, name: string, def: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (def !== undefined) return def;
      if (v !== undefined) return v;
      throw new BridgeConfigError(`bridge config: environment variable ${name} is not set (used at ${path || '<root>'})`, path);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

function readSource(source: BridgeConfigSource): { raw: unknown; origin: string } {
  if (typeof source === 'string') {
    const trimmed = source.trimStart();
    // A string that looks like a document is parsed as one; anything else is a file path.
    if (trimmed.startsWith('{') || /^version\s*:/m.test(source) || source.includes('\n')) {
      return { raw: parseText(source, trimmed.startsWith('{') ? 'json' : 'yaml', '<inline>'), origin: '<inline>' };
    }
    return readFile(source);
  }
  if ('path' in source && typeof source.path === 'string' && Object.keys(source).length === 1) return readFile(source.path);
  if ('text' in source && typeof source.text === 'string') {
    const fmt = (source as { format?: 'yaml' | 'json' }).format ?? (source.text.trimStart().startsWith('{') ? 'json' : 'yaml');
    return { raw: parseText(source.text, fmt, '<inline>'), origin: '<inline>' };
  }
  return { raw: structuredClone(source), origin: '<inline object>' };
}

function readFile(path: string): { raw: unknown; origin: string } {
  const full = resolve(path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw new BridgeConfigError(`bridge config: cannot read ${full}: ${(err as Error).message}`);
  }
  const fmt = extname(full).toLowerCase() === '.json' ? 'json' : 'yaml';
  return { raw: parseText(text, fmt, full), origin: full };
}

function parseText(text: string, format: 'yaml' | 'json', origin: string): unknown {
  try {
    return format === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new BridgeConfigError(`bridge config ${origin}: invalid ${format.toUpperCase()}: ${(err as Error).message}`);
  }
}

/**
 * Loads and validates one bridge configuration document: the version must be `openagentio.bridge/v1`, `bridges`
 * a list of `{name, type, config?, mappings?}` (`mappings` a map, as upstream writes it, or a list of maps), names
 * unique; environment references are resolved.
 * Every problem is a BridgeConfigError naming the key (`bridges[2].name`).
 */
export function loadBridgeConfig(source: BridgeConfigSource, env: NodeJS.ProcessEnv = process.env): BridgeConfigDocument {
  const { raw, origin } = readSource(source);
  const where = (key: string) => `bridge config ${origin}: ${key}`;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new BridgeConfigError(`${where('<root>')} must be a mapping with "version" and "bridges"`);
  }
  const doc = raw as Record<string, unknown>;
  if (doc.version === undefined)
    throw new BridgeConfigError(`${where('version')} is required (expected "${BRIDGE_CONFIG_VERSION}")`, 'version');
  if (doc.version !== BRIDGE_CONFIG_VERSION) {
    throw new BridgeConfigError(
      `${where('version')}: unknown version ${JSON.stringify(doc.version)} (expected "${BRIDGE_CONFIG_VERSION}")`,
      'version',
    );
  }
  if (doc.bridges === undefined) throw new BridgeConfigError(`${where('bridges')} is required (a list of bridges)`, 'bridges');
  if (!Array.isArray(doc.bridges)) throw new BridgeConfigError(`${where('bridges')} must be a list`, 'bridges');
  const resolved = interpolateEnv(doc.bridges, env, 'bridges') as unknown[];
  const seen = new Set<string>();
  const bridges: BridgeDefinition[] = resolved.map((entry, i) => {
    const key = `bridges[${i}]`;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) throw new BridgeConfigError(`${where(key)} must be a mapping`, key);
    const e = entry as Record<string, unknown>;
    for (const req of ['name', 'type'] as const) {
      if (e[req] === undefined || e[req] === null || e[req] === '')
        throw new BridgeConfigError(`${where(`${key}.${req}`)} is required`, `${key}.${req}`);
      if (typeof e[req] !== 'string') throw new BridgeConfigError(`${where(`${key}.${req}`)} must be a string`, `${key}.${req}`);
    }
    const name = e.name as string;
    if (seen.has(name)) throw new BridgeConfigError(`${where(`${key}.name`)}: duplicate bridge name "${name}"`, `${key}.name`);
    seen.add(name);
    if (e.config !== undefined && e.config !== null && (typeof e.config !== 'object' || Array.isArray(e.config))) {
      throw new BridgeConfigError(`${where(`${key}.config`)} must be a mapping`, `${key}.config`);
    }
    const def: BridgeDefinition = { name, type: e.type as string, config: (e.config as Record<string, unknown>) ?? {} };
    if (e.mappings !== undefined && e.mappings !== null)
      def.mappings = readMappings(e.mappings, (k) => where(`${key}.mappings${k}`), `${key}.mappings`);
    return def;
  });
  return { version: BRIDGE_CONFIG_VERSION, bridges };
}

/**
 * `mappings` as upstream writes them (a key/value map) or as a list of maps (merged in order, later keys win):
 * either way one map.
 */
function readMappings(value: unknown, where: (suffix: string) => string, key: string): Record<string, unknown> {
  const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (isMap(value)) return { ...value };
  if (!Array.isArray(value)) throw new BridgeConfigError(`${where('')} must be a mapping (or a list of mappings)`, key);
  const out: Record<string, unknown> = {};
  value.forEach((item, i) => {
    if (!isMap(item)) throw new BridgeConfigError(`${where(`[${i}]`)} must be a mapping`, `${key}[${i}]`);
    Object.assign(out, item);
  });
  return out;
}

/** Config helpers for factories: read a required or optional key, with errors naming `bridges.<name>.config.<key>`. */
export class ConfigReader {
  constructor(
    private readonly def: BridgeDefinition,
    private readonly errorType: new (message: string) => Error = BridgeConfigError,
  ) {}

  private key(k: string): string {
    return `bridge "${this.def.name}" (${this.def.type}): config.${k}`;
  }

  string(k: string): string;
  string(k: string, def: string): string;
  string(k: string, def?: string): string | undefined;
  string(k: string, def?: string): string | undefined {
    const v = this.def.config[k];
    if (v === undefined || v === null || v === '') {
      if (arguments.length >= 2) return def;
      throw new this.errorType(`${this.key(k)} is required`);
    }
    if (typeof v !== 'string') throw new this.errorType(`${this.key(k)} must be a string`);
    return v;
  }

  optionalString(k: string): string | undefined {
    return this.string(k, undefined as unknown as string);
  }

  number(k: string, def: number): number {
    const v = this.def.config[k];
    if (v === undefined || v === null || v === '') return def;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new this.errorType(`${this.key(k)} must be a non-negative number`);
    return n;
  }
}
