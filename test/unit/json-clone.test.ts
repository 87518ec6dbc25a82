import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonClone } from '@openagentio/nestjs/internal/utils/json-clone.js';

// The memory transport's copies must be what a JSON round trip (NATS) would give, or code that works in-process
// would break over the network: every case here is compared with JSON.parse(JSON.stringify(value)).
class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  get length(): number {
    return Math.hypot(this.x, this.y);
  }
}

const withKeyedToJSON = { when: { toJSON: (key: string) => `key was "${key}"` }, list: [{ toJSON: (key: string) => `index ${key}` }] };
const nullProto = Object.assign(Object.create(null) as object, { a: 1, b: 'two' });
const inheritedFrom = Object.create({ inherited: true }) as Record<string, unknown>;
inheritedFrom.own = 1;

const corpus: Record<string, unknown> = {
  'plain nested': { id: 42, kind: 'bench', nested: { deep: [1, 'two', true, null, { x: 1 }] } },
  'undefined, functions and symbols in objects are dropped': { a: undefined, f: () => 1, s: Symbol('s'), kept: 1 },
  'undefined, functions and symbols in arrays become null': [undefined, () => 1, Symbol('s'), 1],
  'non-finite numbers become null, -0 becomes 0': { nan: NaN, inf: Infinity, ninf: -Infinity, negZero: -0, arr: [NaN, -0] },
  'Date via toJSON': { at: new Date(Date.UTC(2026, 10, 24, 9, 0, 0, 123)) },
  'toJSON receives the property key': withKeyedToJSON,
  'class instance: own enumerable fields only': new Point(3, 4),
  'Map and Set become empty objects': { m: new Map([[1, 2]]), s: new Set([1]) },
  'boxed primitives are unboxed': { n: new Number(5), s: new String('str'), b: new Boolean(false) },
  'object without prototype': nullProto,
  'inherited enumerable properties are not copied': inheritedFrom,
  'integer-like keys are ordered first': { b: 1, 2: 'two', a: 3, 1: 'one' },
  'typed arrays become index objects': { bytes: new Uint8Array([1, 2]) },
  'top-level primitive': 'just a string',
  'top-level number': 3.5,
  'top-level null': null,
};

describe('jsonClone (memory transport copies)', () => {
  for (const [name, value] of Object.entries(corpus)) {
    it(`equals a JSON round trip: ${name}`, () => {
      assert.deepStrictEqual(jsonClone(value), JSON.parse(JSON.stringify(value)));
    });
  }

  it('undefined and functions at the top level give undefined, as JSON.stringify does', () => {
    assert.equal(jsonClone(undefined), undefined);
    assert.equal(
      jsonClone(() => 1),
      undefined,
    );
  });

  it('copies: mutating the copy leaves the original alone', () => {
    const original = { list: [1, { x: 1 }] };
    const copy = jsonClone(original);
    (copy.list[1] as { x: number }).x = 2;
    copy.list.push(3);
    assert.deepStrictEqual(original, { list: [1, { x: 1 }] });
  });

  it('a BigInt or a circular structure throws a TypeError, as JSON.stringify does', () => {
    assert.throws(() => jsonClone({ n: BigInt(1) }), TypeError);
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    assert.throws(() => jsonClone(circular), TypeError);
  });
});
