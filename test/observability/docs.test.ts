import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MetricNames } from '@openagentio/nestjs';
import { THREE_AGENT_ERROR_TREE } from './otel-test-sdk.js';

const root = new URL('../../../', import.meta.url);
const doc = readFileSync(new URL('docs/observability.md', root), 'utf8');

/** docs/observability.md stays true to the code. */
describe('docs/observability.md', () => {
  it('lists every metric the bus records, and its Prometheus name', () => {
    for (const name of Object.values(MetricNames)) {
      assert.ok(doc.includes(`\`${name}\``), `metric ${name} is documented`);
      const prom = name.replace(/\./g, '_');
      assert.ok(doc.includes(prom), `Prometheus name ${prom} is documented`);
    }
  });

  it('shows a real trace tree of the shape tracing.test.ts asserts', () => {
    const section = doc.slice(doc.indexOf('### A real trace'));
    const block = /```text\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(block, 'a text block with the tree');
    const shape = block
      .trim()
      .split('\n')
      .map((l) => l.replace(/ trace=.*?(acp\.error\.code=\w+)?( acp\.stream\.frames=\d+)?( event:\S+)?$/, ' $1$2$3').trimEnd());
    assert.deepEqual(shape, THREE_AGENT_ERROR_TREE);
    const traceIds = new Set([...block.matchAll(/trace=([0-9a-f]{32})/g)].map((m) => m[1]));
    assert.equal(traceIds.size, 1, 'one trace');
  });
});
