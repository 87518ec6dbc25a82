import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusError, createReply, type Envelope } from '@openagentio/nestjs';
import { createRequest } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { ReorderBuffer } from '@openagentio/nestjs/internal/caller/reorder-buffer.js';

const req = createRequest(null, { from: 'c' });
const frame = (seq: number): Envelope => createReply(req, 'agent.response.delta', { delta: String(seq) }, { seq });
const seqs = (frames: Envelope[]) => frames.map((f) => f.seq ?? 0);

describe('ReorderBuffer', () => {
  it('delivers in order, holding frames until the gap fills', () => {
    const b = new ReorderBuffer();
    assert.deepEqual(seqs(b.accept(frame(1))), []);
    assert.deepEqual(seqs(b.accept(frame(2))), []);
    assert.deepEqual(seqs(b.accept(frame(0))), [0, 1, 2]);
    assert.deepEqual(seqs(b.accept(frame(3))), [3]);
  });

  it('drops duplicates, before and after delivery', () => {
    const b = new ReorderBuffer();
    b.accept(frame(0));
    assert.deepEqual(seqs(b.accept(frame(0))), []);
    assert.deepEqual(seqs(b.accept(frame(2))), []);
    assert.deepEqual(seqs(b.accept(frame(2))), []);
    assert.deepEqual(seqs(b.accept(frame(1))), [1, 2]);
    assert.equal(b.pendingCount, 0);
  });

  it('bounds the gap and the pending count with BACKPRESSURE_DROP', () => {
    const b = new ReorderBuffer({ maxPending: 3, maxGap: 10 });
    assert.throws(
      () => b.accept(frame(11)),
      (e: BusError) => e.code === 'BACKPRESSURE_DROP' && /ahead/.test(e.message),
    );
    b.accept(frame(1));
    b.accept(frame(2));
    b.accept(frame(3));
    assert.throws(
      () => b.accept(frame(4)),
      (e: BusError) => e.code === 'BACKPRESSURE_DROP' && /pending/.test(e.message),
    );
  });

  it('uses the upstream limits by default (256 pending, gap 1024)', () => {
    const b = new ReorderBuffer();
    assert.doesNotThrow(() => b.accept(frame(1024)));
    assert.throws(() => b.accept(frame(1026)), BusError);
    const c = new ReorderBuffer();
    for (let i = 1; i <= 256; i++) c.accept(frame(i));
    assert.throws(() => c.accept(frame(257)), /256/);
  });
});
