import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BusError, decodeEnvelope } from '@openagentio/nestjs';

// The wire decoder against generated hostile input (issue 13): whatever arrives, decodeEnvelope returns a valid
// envelope or throws a BusError (CODEC_FAILURE or INVALID_REQUEST) quickly; nothing else escapes and nothing hangs.
// Seeded, so a failure reproduces; bounded in count and time.

const FIXTURES = new URL('../../../test/fixtures/protocol/', import.meta.url).pathname;
const samples = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json') && f !== 'envelope.schema.json')
  .map((f) => readFileSync(FIXTURES + f, 'utf8'));

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY = [
  '\u0000',
  '\uffff',
  '\ud800',
  '"',
  '\\',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '1e309',
  '-0',
  'null',
  'true',
  '__proto__',
  'constructor',
  '\u2028',
  '𝕏',
];

function mutate(text: string, rnd: () => number): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  switch (Math.floor(rnd() * 7)) {
    case 0: {
      // flip bytes
      const out = Buffer.from(bytes);
      for (let i = 0; i < 1 + rnd() * 8; i++) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
      return out;
    }
    case 1:
      return bytes.subarray(0, Math.floor(rnd() * bytes.length));
    case 2: {
      const at = Math.floor(rnd() * text.length);
      return Buffer.from(text.slice(0, at) + NASTY[Math.floor(rnd() * NASTY.length)] + text.slice(at), 'utf8');
    }
    case 3: {
      // a field replaced by a value of another type
      const obj = JSON.parse(text) as Record<string, unknown>;
      const keys = Object.keys(obj);
      const values = [null, 0, -1, 1e308, '', 'x'.repeat(10_000), [], {}, true, [[[]]], { a: { b: {} } }];
      obj[keys[Math.floor(rnd() * keys.length)]] = values[Math.floor(rnd() * values.length)];
      return Buffer.from(JSON.stringify(obj), 'utf8');
    }
    case 4: {
      // deep nesting in the payload
      const depth = 1 + Math.floor(rnd() * 5000);
      const obj = JSON.parse(text) as Record<string, unknown>;
      return Buffer.from(
        JSON.stringify({ ...obj, payload: 0 }).replace('"payload":0', `"payload":${'['.repeat(depth)}${']'.repeat(depth)}`),
        'utf8',
      );
    }
    case 5: {
      // duplicated and prototype keys
      return Buffer.from(text.replace('{', '{"__proto__":{"polluted":1},"event_id":"x",'), 'utf8');
    }
    default: {
      const out = Buffer.alloc(Math.floor(rnd() * 512));
      for (let i = 0; i < out.length; i++) out[i] = Math.floor(rnd() * 256);
      return out;
    }
  }
}

describe('wire decoder fuzz', () => {
  it('5,000 mutated golden samples: a valid envelope or a BusError, never anything else, and fast', () => {
    const rnd = prng(0x13);
    const started = Date.now();
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 5000 && Date.now() - started < 20_000; i++) {
      const input = mutate(samples[i % samples.length], rnd);
      try {
        const env = decodeEnvelope(input);
        assert.equal(typeof env.event_id, 'string');
        assert.equal(env.spec_version, 'acp/1.0');
        accepted++;
      } catch (err) {
        assert.ok(err instanceof BusError, `input #${i} threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
        assert.ok(['CODEC_FAILURE', 'INVALID_REQUEST'].includes(err.code), err.code);
        refused++;
      }
    }
    assert.ok(refused > 1000 && accepted > 0, `accepted ${accepted}, refused ${refused}`);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  });
});
