import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The ```ts blocks of a markdown file, with the line each starts on. */
function tsBlocks(text: string): Array<{ line: number; code: string }> {
  const out: Array<{ line: number; code: string }> = [];
  const re = /^```(ts|typescript)\n([\s\S]*?)^```/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ line: text.slice(0, m.index).split('\n').length, code: m[2] });
  return out;
}

describe('docs examples a newcomer copies', () => {
  it('none silences Nest and keeps abortOnError: an app that fails at start-up must say why, not exit 1 silently', () => {
    const files = ['README.md', 'CONTRIBUTING.md', ...readdirSync(join(root, 'docs')).map((f) => join('docs', f))].filter((f) =>
      f.endsWith('.md'),
    );
    const offenders: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(root, file), 'utf8');
      } catch {
        continue;
      }
      for (const { line, code } of tsBlocks(text)) {
        // NestFactory with logger: false and the default abortOnError exits the process with code 1 on a start-up
        // error, having logged it to nobody.
        if (/NestFactory\.\w+\([^)]*logger:\s*false/.test(code) && !/abortOnError:\s*false/.test(code)) offenders.push(`${file}:${line}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});
