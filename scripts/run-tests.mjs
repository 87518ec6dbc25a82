#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's test runner.
// `npm test -- <substring>` runs only the files whose path contains the substring.
// Each file runs in its own process; two at a time (the machines here have 2 cores).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

let files;
try {
  files = walk(testDir).sort();
} catch {
  console.error(`no compiled tests in ${testDir}: run "tsc -p tsconfig.json" first (npm test does)`);
  process.exit(1);
}
if (filters.length > 0) files = files.filter((f) => filters.some((s) => relative(root, f).includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

// Which Node runs the suite matters (we support the LTS lines 22 and 24): say it first.
console.log(`node ${process.version} (${process.execPath}): ${files.length} test files`);

const args = [
  '--test',
  '--test-reporter=spec',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
  // Per test, and on Node 22 per file too: the 3-node JetStream fault suite runs about 100 s, more on a loaded machine.
  `--test-timeout=${process.env.TEST_TIMEOUT ?? 300000}`,
  ...files,
];
const child = spawn(process.execPath, args, {
  stdio: 'inherit',
  // Memory transports validate every body like a network transport unless ACP_VALIDATE_ALL=0 says otherwise
  // (then in-process invokes take the direct path, as in an app with default options).
  env: { ...process.env, ACP_VALIDATE_ALL: process.env.ACP_VALIDATE_ALL ?? '1', NODE_ENV: 'test' },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
