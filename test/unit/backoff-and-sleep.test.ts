import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { abortableSleep } from '@openagentio/nestjs';
import { backoffDelay } from '@openagentio/nestjs/internal/resilience/backoff.js';
import { retryDelay } from '@openagentio/nestjs/internal/resilience/retry-policy.js';

describe('backoffDelay (the one backoff formula)', () => {
  const curve = { initial: 100, factor: 2, max: 1000 };
  it('grows by the factor per step, is capped, and spreads between the given bounds', () => {
    assert.equal(
      backoffDelay(0, curve, [1, 1], () => 0.5),
      100,
    );
    assert.equal(
      backoffDelay(3, curve, [1, 1], () => 0.5),
      800,
    );
    assert.equal(
      backoffDelay(4, curve, [1, 1], () => 0.5),
      1000,
    );
    assert.equal(
      backoffDelay(2, curve, [0.5, 1], () => 0),
      200,
    );
    assert.equal(
      backoffDelay(2, curve, [0.5, 1], () => 1),
      400,
    );
    assert.equal(
      backoffDelay(2, curve, [0.8, 1.2], () => 1),
      480,
    );
  });
  it('bus retries wait between half and all of the cap before each retry (attempt 2 is the first retry)', () => {
    const policy = { initialDelay: 50, maxDelay: 2000, factor: 2 };
    assert.equal(
      retryDelay(2, policy, () => 0),
      25,
    );
    assert.equal(
      retryDelay(2, policy, () => 1),
      50,
    );
    assert.equal(
      retryDelay(3, policy, () => 1),
      100,
    );
    assert.equal(
      retryDelay(20, policy, () => 1),
      2000,
    );
  });
});

describe('abortableSleep', () => {
  it('resolves after the time', async () => {
    const t0 = performance.now();
    await abortableSleep(20, new AbortController().signal);
    assert.ok(performance.now() - t0 >= 15);
  });
  it('rejects with the reason at once when aborted, before or during the wait', async () => {
    const before = new AbortController();
    before.abort(new Error('gone'));
    await assert.rejects(abortableSleep(10_000, before.signal), /gone/);
    const during = new AbortController();
    const t0 = performance.now();
    const p = abortableSleep(10_000, during.signal);
    during.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.ok(performance.now() - t0 < 1000);
  });
});
