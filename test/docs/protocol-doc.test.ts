import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ADVERTISED_EXTENSIONS, EventTypes, decodeEnvelope, type Envelope } from '@openagentio/nestjs';
import { DEFAULT_RETRYABLE, HTTP_STATUS_OF } from '@openagentio/nestjs/internal/errors/error-codes.js';
import { DEFAULT_SUBJECT_PREFIX } from '@openagentio/nestjs/internal/protocol/subjects.js';
import { FRAME_TYPE_OF, REPLY_COPIED_FIELDS } from '@openagentio/nestjs/internal/protocol/envelope.js';
import { schemaProblems } from '@openagentio/nestjs/internal/protocol/envelope-validator.js';

// dist/test/docs/ → project root
const DOC = new URL('../../../docs/protocol.md', import.meta.url);

describe('docs/protocol.md', () => {
  const text = readFileSync(DOC, 'utf8');
  const blocks = [...text.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1]);

  it('keeps its section numbers: code comments cite them as docs/protocol.md §n', () => {
    const headings = [...text.matchAll(/^## (\d+)\. (.+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(headings, [
      '1 Envelope',
      '2 NATS subjects',
      '3 Invoke and stream',
      '4 Extensions we add',
      '5 HTTP gateway',
      '6 Bridge configuration documents',
      '7 What upstream does differently',
    ]);
  });

  it('every example envelope is compact wire JSON that validates and decodes', () => {
    assert.ok(blocks.length >= 7, `found ${blocks.length} json examples`);
    for (const b of blocks) {
      const env = JSON.parse(b);
      assert.deepEqual(schemaProblems(env), [], b);
      assert.equal(JSON.stringify(env), b, 'examples are compact, as on the wire');
      decodeEnvelope(b);
    }
  });

  it('the stream example is one call: seq 0.. without gaps, started first, one terminal frame last', () => {
    const frames = blocks.map((b) => JSON.parse(b) as Envelope).filter((e) => e.payload && (e.payload as { meta?: unknown }).meta);
    assert.equal(frames.length, 1, 'one started frame');
    const id = frames[0].correlation_id;
    const stream = blocks.map((b) => JSON.parse(b) as Envelope).filter((e) => e.correlation_id === id);
    assert.deepEqual(
      stream.map((e) => e.seq ?? 0),
      stream.map((_, i) => i),
    );
    assert.equal(stream[0].event_type, EventTypes.STARTED);
    assert.deepEqual(
      stream.map((e) => e.is_final === true),
      stream.map((_, i) => i === stream.length - 1),
    );
  });

  it('the invoke example reply answers the example request', () => {
    const envs = blocks.map((b) => JSON.parse(b) as Envelope);
    const request = envs.find((e) => e.event_type === EventTypes.REQUEST)!;
    const reply = envs.find((e) => e.correlation_id === request.event_id)!;
    assert.equal(reply.event_type, EventTypes.FINAL);
    assert.equal(reply.to, request.from);
    assert.equal((request.metadata ?? {})['acp.ext'], ADVERTISED_EXTENSIONS);
    for (const f of REPLY_COPIED_FIELDS) assert.equal(reply[f], request[f], f);
  });

  it('the error code table matches the HTTP statuses and retryable defaults of the code', () => {
    const rows = new Map(
      [...text.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (yes|no) \|/gm)].map((m) => [
        m[1],
        { status: Number(m[2]), retryable: m[3] === 'yes' },
      ]),
    );
    assert.deepEqual([...rows.keys()].sort(), Object.keys(HTTP_STATUS_OF).sort(), 'every code, and only the codes, in the table');
    for (const [code, row] of rows) {
      assert.equal(row.status, HTTP_STATUS_OF[code as keyof typeof HTTP_STATUS_OF], code);
      assert.equal(row.retryable, DEFAULT_RETRYABLE[code as keyof typeof DEFAULT_RETRYABLE], code);
    }
  });

  it('names every event type with its frame type, and the default subject prefix', () => {
    for (const t of Object.values(EventTypes)) {
      const frameType = FRAME_TYPE_OF[t];
      const row = new RegExp(`^\\| \`${t.replace(/\./g, '\\.')}\` \\| ${frameType ? `\`${frameType}\`` : '\\(none\\)'} \\|`, 'm');
      assert.match(text, row, t);
    }
    assert.ok(text.includes(`\`${DEFAULT_SUBJECT_PREFIX}\``));
  });
});
