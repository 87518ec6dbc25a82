#!/usr/bin/env node
// Runs the README's first-contact commands literally, as a newcomer would on a fresh clone: every ```bash block that
// follows a `<!-- ci:first-contact -->` line, one command per line, in order. A command that starts the demo
// (`npm start`, `npx nest start`, ...) runs until the demo's /demo/health answers with the bus connected, then is
// stopped; `npm run build` runs from a clean tree (no dist/, no libs/*/dist); any other command must exit 0.
// Used by .ci/run before anything else builds: a README command that fails on a fresh clone fails CI.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const STARTS_DEMO = /^(npm start|npm run start(:dev)?|npx nest start)\b/;
const START_TIMEOUT_MS = Number(process.env.FIRST_CONTACT_TIMEOUT_MS ?? 180_000);

/** The commands of the marked blocks, comments and blank lines dropped. */
export function firstContactCommands(readme) {
  const lines = readme.split('\n');
  const commands = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '<!-- ci:first-contact -->') continue;
    if (!/^```(bash|sh)\s*$/.test(lines[i + 1] ?? ''))
      throw new Error(`README line ${i + 2}: a ci:first-contact marker must precede a bash block`);
    for (let j = i + 2; j < lines.length && !lines[j].startsWith('```'); j++) {
      const cmd = lines[j].replace(/\s+#.*$/, '').trim();
      if (cmd && !cmd.startsWith('#')) commands.push(cmd);
    }
  }
  return commands;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(cmd, env = process.env) {
  // A process group of its own, so that stopping a demo stops npm, the compiler and node under it.
  return spawn('bash', ['-c', cmd], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}

function collect(child) {
  let out = '';
  const add = (d) => {
    out += d;
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout.on('data', add);
  child.stderr.on('data', add);
  return () => out;
}

function exitOf(child) {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function runToEnd(cmd) {
  const child = run(cmd);
  const output = collect(child);
  const { code, signal } = await exitOf(child);
  if (code !== 0) throw new Error(`"${cmd}" failed (exit ${code ?? signal}):\n${output().slice(-6000)}`);
}

async function startDemo(cmd) {
  const port = await freePort();
  const child = run(cmd, { ...process.env, PORT: String(port) });
  const output = collect(child);
  const exited = exitOf(child);
  let ended;
  void exited.then((e) => (ended = e));
  const started = Date.now();
  try {
    for (;;) {
      if (ended) throw new Error(`"${cmd}" exited (${ended.code ?? ended.signal}) before the demo answered:\n${output().slice(-6000)}`);
      if (Date.now() - started > START_TIMEOUT_MS)
        throw new Error(`"${cmd}": no answer from /demo/health within ${START_TIMEOUT_MS} ms:\n${output().slice(-6000)}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/demo/health`, { signal: AbortSignal.timeout(2000) });
        const body = await res.json();
        if (res.ok && body.bus === 'connected') return { ms: Date.now() - started, targets: body.targets?.length ?? 0 };
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    if (!ended) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

/**
 * The stale-build trap: with the packages built once, an edit in a library source must be what the next `npm start` runs.
 * A marker export is added to a library source, `npm start` must answer, and the library's build must hold the
 * marker; the source is restored after.
 */
async function editThenStart() {
  const file = `${root}/libs/bus/src/constants.ts`;
  const original = readFileSync(file, 'utf8');
  const mark = `first-contact-${process.pid}-${Date.now()}`;
  writeFileSync(file, `${original}\nexport const FIRST_CONTACT_MARK = '${mark}';\n`);
  try {
    await startDemo('npm start');
    const built = readFileSync(`${root}/libs/bus/dist/constants.js`, 'utf8');
    if (!built.includes(mark)) throw new Error('an edit in libs/bus/src was not rebuilt by npm start: it ran a stale library build');
  } finally {
    writeFileSync(file, original);
  }
  console.log('first contact: an edit in libs/*/src, then npm start -> the edit is built and run');
}

async function main() {
  const commands = firstContactCommands(readFileSync(`${root}/README.md`, 'utf8'));
  if (commands.length === 0) throw new Error('README.md has no <!-- ci:first-contact --> block');
  for (const cmd of commands) {
    const t0 = Date.now();
    if (STARTS_DEMO.test(cmd)) {
      const { ms, targets } = await startDemo(cmd);
      console.log(`first contact: ${cmd} -> /demo/health answered after ${(ms / 1000).toFixed(1)} s (${targets} targets)`);
    } else {
      if (/^npm run build\b/.test(cmd)) {
        // From a clean tree: nothing built before.
        rmSync(`${root}/dist`, { recursive: true, force: true });
        for (const lib of readdirSync(`${root}/libs`)) rmSync(`${root}/libs/${lib}/dist`, { recursive: true, force: true });
      }
      await runToEnd(cmd);
      console.log(`first contact: ${cmd} -> ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  }
  await editThenStart();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`first contact FAILED: ${err.message}`);
    process.exit(1);
  });
}
