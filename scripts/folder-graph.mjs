#!/usr/bin/env node
// Prints, for each folder of the three packages, the folders it imports, from dependency-cruiser's own analysis: the
// table of docs/architecture.md "Who imports whom". Run it after moving files: node scripts/folder-graph.mjs
import { execFileSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const out = execFileSync(
  'npx',
  ['depcruise', '--config', '.dependency-cruiser.cjs', '--output-type', 'json', 'libs/bus/src', 'libs/bridge/src', 'libs/gateway/src'],
  { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
);
const { modules } = JSON.parse(out);

/** `bus/caller`, `bridge/mcp`, `gateway/(top)`; another package's built files are its public or internal entry. */
function folderOf(path) {
  const m = /^libs\/(bus|bridge|gateway)\/(src|dist)\/(.*)$/.exec(path);
  if (!m) return undefined;
  const [, pkg, kind, rest] = m;
  if (kind === 'dist') return /^index\.(d\.ts|js)$/.test(rest) ? `${pkg} entry` : `${pkg} internal/*`;
  return `${pkg}/${rest.includes('/') ? rest.slice(0, rest.indexOf('/')) : '(top)'}`;
}

const edges = new Map();
for (const mod of modules) {
  // The entries (index.ts) list every public name, so they import from everywhere: left out.
  if (/\/src\/index\.ts$/.test(mod.source)) continue;
  const from = folderOf(mod.source);
  if (!from || from.endsWith('entry') || from.endsWith('internal/*')) continue;
  if (!edges.has(from)) edges.set(from, new Set());
  for (const dep of mod.dependencies) {
    const to = folderOf(dep.resolved);
    if (to && to !== from) edges.get(from).add(to);
  }
}
console.log('| folder | imports from |');
console.log('|---|---|');
for (const from of [...edges.keys()].sort()) {
  const tos = [...edges.get(from)].sort();
  console.log(`| \`${from}\` | ${tos.length ? tos.map((t) => `\`${t}\``).join(', ') : '—'} |`);
}
