import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { OpenClawChatSseBridge } from '@openagentio/nestjs-bridges';
import { loadBridgeConfig } from '@openagentio/nestjs-bridges/internal/config/bridge-config.js';
import { main as parallelExample } from './orchestration-parallel.example.js';
import { main as handoffExample } from './orchestration-handoff.example.js';
import { main as sessionRouterExample } from './orchestration-session-router.example.js';

const root = new URL('../../../', import.meta.url).pathname;
const doc = readFileSync(`${root}docs/orchestration.md`, 'utf8');

describe('docs/orchestration.md examples', () => {
  for (const name of ['orchestration-parallel', 'orchestration-handoff', 'orchestration-session-router']) {
    it(`${name}: the block is the compiled example file, word for word`, () => {
      const block = doc.match(new RegExp(`<!-- example:${name} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``));
      assert.ok(block, `docs/orchestration.md has the ${name} block`);
      assert.equal(block![1], readFileSync(`${root}test/docs/${name}.example.ts`, 'utf8'));
    });
  }

  it('parallel: first success, all settled, and a quorum that cannot be reached failing at once', async () => {
    const r = await parallelExample();
    assert.equal(r.winner, 'quote.fast');
    assert.deepEqual(r.value, { eur: 101 });
    assert.deepEqual(r.first, ['quote.fast: ok', 'quote.slow: cancelled', 'quote.down: error']);
    assert.deepEqual(r.settled, ['quote.fast: ok', 'quote.slow: timed-out', 'quote.down: error']);
    assert.equal(
      r.quorum,
      'parallel (quorum 2 of 3): cannot be reached, 0 succeeded and 1 still running (quote.down: AGENT_UNAVAILABLE quote service down; quote.closed: AGENT_UNAVAILABLE market closed)',
    );
    assert.ok(r.quorumFailedWithinMs < 1_000, `failed after ${r.quorumFailedWithinMs} ms; the slow quote needs 5 s`);
  });

  it('handoff: one stream with the marker, the state and history at billing, the next turn routed to billing', async () => {
    Logger.overrideLogger(false);
    assert.deepEqual(await handoffExample(), {
      text: 'Let me get billing. Billing here (billing question, plan pro, 1 messages). ',
      handoff: 'triage → billing: billing question',
      next: 'billing',
    });
  });

  it('session router: a fixed entry point (a Matrix room) sends the next turn where the handoff left the session', async () => {
    assert.deepEqual(await sessionRouterExample(), { first: 'triage: billing here', second: 'billing here' });
  });

  it('the openclaw_chat_sse handoff configuration in the doc loads as written', () => {
    const yaml = doc.match(/<!-- config:openclaw-handoffs -->\s*```yaml\n([\s\S]*?)```/);
    assert.ok(yaml, 'docs/orchestration.md has the configuration block');
    const def = loadBridgeConfig({ text: yaml![1] }, { OPENAI_API_KEY: 'sk-test' }).bridges[0];
    const bridge = OpenClawChatSseBridge.fromDefinition(def);
    assert.deepEqual(
      bridge.handoffs.tools().map((t) => t.function.name),
      ['transfer_to_billing', 'transfer_to_refunds'],
    );
    assert.equal(bridge.handoffs.historyName, 'remove_tools');
  });
});
