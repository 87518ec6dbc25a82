import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// Internal, under unit test through the package's internal/ entry.
import { WarnLimiter } from '@openagentio/nestjs/internal/runtime/warn-limiter.js';
import { RecordingLogger } from '../support/bus-fixture.js';

describe('WarnLimiter (warnings about invalid messages)', () => {
  it('writes at most perWindow lines per window, then one line saying how many were left out', async () => {
    const logger = new RecordingLogger();
    const limiter = new WarnLimiter(logger, 3, 50);
    for (let i = 0; i < 1000; i++) limiter.warn(`bad ${i}`);
    assert.deepEqual(logger.lines, ['warn bad 0', 'warn bad 1', 'warn bad 2']);
    const windowStart = Date.now();
    while (Date.now() - windowStart < 60) await new Promise((r) => setTimeout(r, 10));
    limiter.warn('bad again');
    assert.deepEqual(logger.lines.slice(3), ['warn 997 more invalid message(s) in the previous 0.05 s were not logged', 'warn bad again']);
  });

  it('cuts a hostile message to a bounded line', () => {
    const logger = new RecordingLogger();
    new WarnLimiter(logger).warn(`invalid message: ${'x'.repeat(100_000)}`);
    assert.ok(logger.lines[0].length < 600);
    assert.match(logger.lines[0], /\(100017 characters\)$/);
  });
});
