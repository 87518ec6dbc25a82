import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEADLINE_GRANULARITY_MS,
  cancelDeadline,
  scheduleDeadline,
  scheduledItems,
} from '@openagentio/nestjs/internal/timers/deadline-wheel.js';

function expiry(): { expire(): void; fired: Promise<number> } {
  let resolve!: (t: number) => void;
  const fired = new Promise<number>((r) => (resolve = r));
  return { expire: () => resolve(performance.now()), fired };
}

describe('deadline wheel', () => {
  it('fires never early and at most a granule (plus timer slack) late', async () => {
    const items = [5, 20, 45].map((ms) => ({ ms, e: expiry(), t0: performance.now() }));
    for (const it of items) scheduleDeadline(Date.now() + it.ms, it.e);
    for (const it of items) {
      const elapsed = (await it.e.fired) - it.t0;
      assert.ok(elapsed >= it.ms - 1, `fired after ${elapsed.toFixed(1)} ms for a ${it.ms} ms deadline`);
      assert.ok(elapsed < it.ms + DEADLINE_GRANULARITY_MS + 50, `fired after ${elapsed.toFixed(1)} ms for a ${it.ms} ms deadline`);
    }
  });

  it('a cancelled item never fires, and the others of its slot still do', async () => {
    const at = Date.now() + 10;
    let cancelledFired = false;
    const cancelled = { expire: () => (cancelledFired = true) };
    const kept = expiry();
    const slot = scheduleDeadline(at, cancelled);
    scheduleDeadline(at, kept);
    cancelDeadline(slot, cancelled);
    await kept.fired;
    assert.equal(cancelledFired, false);
    assert.ok(![...scheduledItems()].includes(cancelled));
  });

  it('a wall-clock step after scheduling moves no deadline (the time left runs on the monotonic clock)', async () => {
    const realNow = Date.now;
    const e = expiry();
    const t0 = performance.now();
    scheduleDeadline(Date.now() + 30, e);
    // The wall clock is set back an hour right after the call was made.
    Date.now = () => realNow() - 3_600_000;
    try {
      let guard: NodeJS.Timeout | undefined;
      const tooLate = new Promise<number>((_, reject) => {
        guard = setTimeout(() => reject(new Error('the deadline did not fire within 2 s: it followed the wall clock')), 2000);
      });
      const elapsed = (await Promise.race([e.fired, tooLate])) - t0;
      clearTimeout(guard);
      assert.ok(elapsed >= 29 && elapsed < 30 + DEADLINE_GRANULARITY_MS + 50, `fired after ${elapsed.toFixed(1)} ms`);
    } finally {
      Date.now = realNow;
    }
  });
});
