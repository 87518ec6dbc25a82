import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { main } from './readme-agent.example.js';

const root = new URL('../../../', import.meta.url).pathname;

describe('README example', () => {
  it('is the compiled example file, word for word', () => {
    const readme = readFileSync(`${root}README.md`, 'utf8');
    const block = readme.match(/<!-- example:readme-agent -->\s*```ts\n([\s\S]*?)```/);
    assert.ok(block, 'README.md has the example block');
    const source = readFileSync(`${root}test/docs/readme-agent.example.ts`, 'utf8');
    assert.equal(block![1], source);
  });

  it('runs and streams the answer', async () => {
    Logger.overrideLogger(false);
    assert.equal(await main(), 'It is 21 degrees in Oslo. ');
  });
});
