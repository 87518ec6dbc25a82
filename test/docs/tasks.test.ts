import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { main } from './tasks.example.js';

const root = new URL('../../../', import.meta.url).pathname;

describe('docs/tasks.md example', () => {
  it('is the compiled example file, word for word', () => {
    const doc = readFileSync(`${root}docs/tasks.md`, 'utf8');
    const block = doc.match(/<!-- example:tasks -->\s*```ts\n([\s\S]*?)```/);
    assert.ok(block, 'docs/tasks.md has the example block');
    assert.equal(block![1], readFileSync(`${root}test/docs/tasks.example.ts`, 'utf8'));
  });

  it('runs: @Task found by TasksModule, input-required then send, the frames in order, and a plain invoke of the target', async () => {
    const { frames, result, viaInvoke } = await main();
    assert.deepEqual(frames, [
      '0 agent.task.created',
      '1 agent.task.status',
      '2 agent.task.status',
      '3 agent.task.message',
      '4 agent.task.status',
      '5 agent.task.status',
      '6 agent.task.artifact',
      '7 agent.task.artifact',
      '8 agent.task.completed',
    ]);
    assert.deepEqual(result, { quarter: 'Q3', pages: 1 });
    assert.deepEqual(viaInvoke, { quarter: 'Q4', pages: 1 });
  });
});
