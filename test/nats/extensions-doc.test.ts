import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADVERTISED_EXTENSIONS } from '@openagentio/nestjs';
import { ChunkHeaders } from '@openagentio/nestjs/internal/transport/nats/chunking.js';
import { ControlEventTypes, MetaKeys } from '@openagentio/nestjs/internal/protocol/extensions.js';
import { schemaProblems } from '@openagentio/nestjs/internal/protocol/envelope-validator.js';

// dist/test/nats/ → project root
const DOC = new URL('../../../docs/PROTOCOL-EXTENSIONS.md', import.meta.url);

describe('docs/PROTOCOL-EXTENSIONS.md', () => {
  const text = readFileSync(DOC, 'utf8');
  const blocks = [...text.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1]);

  it('every example envelope is compact wire JSON that validates against the upstream schema', () => {
    assert.ok(blocks.length >= 8, `found ${blocks.length} json examples`);
    for (const b of blocks) {
      const env = JSON.parse(b);
      assert.deepEqual(schemaProblems(env), [], b);
      assert.equal(JSON.stringify(env), b, 'examples are compact, as on the wire');
    }
  });

  it('names the keys, control types, extensions and chunk headers the code uses', () => {
    assert.ok(text.includes(ADVERTISED_EXTENSIONS));
    for (const k of Object.values(MetaKeys)) assert.ok(text.includes(`\`${k}\``), k);
    for (const t of Object.values(ControlEventTypes)) assert.ok(text.includes(t), t);
    for (const h of Object.values(ChunkHeaders)) assert.ok(text.includes(h), h);
  });
});
