import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

// Each package's public surface, as a user's `import { … } from '<package>'` sees it, is checked in under
// test/packaging/api/. A change to it (a name added, removed or turned from a value into a type) fails here until
// the list is rewritten with UPDATE_API=1, so it shows as a diff in review. A name belongs in the list only when a
// user needs it: what the package itself, its tests or the other packages use stays under `<package>/internal/*`.

const ROOT = new URL('../../../', import.meta.url).pathname;

const PACKAGES = [
  { name: '@openagentio/nestjs', dir: 'libs/bus', list: 'nestjs.txt' },
  { name: '@openagentio/nestjs-bridges', dir: 'libs/bridge', list: 'nestjs-bridges.txt' },
  { name: '@openagentio/nestjs-gateway', dir: 'libs/gateway', list: 'nestjs-gateway.txt' },
];

/** Every name the built entry's declarations export, with `type` for the ones that are only types. */
function declaredExports(dts: string): string[] {
  const program = ts.createProgram([dts], {
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(dts);
  assert.ok(source, `${dts} is missing: build the packages first (npx tsc -b tsconfig.json)`);
  const module = checker.getSymbolAtLocation(source);
  assert.ok(module, `${dts} is not a module`);
  return checker.getExportsOfModule(module).map((s) => {
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    return target.flags & ts.SymbolFlags.Value ? s.name : `type ${s.name}`;
  });
}

/** Every `import { … } from '<package>'` in the code blocks of README.md and docs/*.md, by package. */
function namesTheDocsImport(): Map<string, Set<string>> {
  const files = [
    'README.md',
    'libs/bus/README.md',
    'libs/bridge/README.md',
    'libs/gateway/README.md',
    ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`),
  ];
  const found = new Map<string, Set<string>>(PACKAGES.map((p) => [p.name, new Set<string>()]));
  for (const file of files.filter((f) => f.endsWith('.md') && existsSync(join(ROOT, f)))) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const [, code] of text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)) {
      for (const [, names, from] of code.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'([^']+)'/g)) {
        const set = found.get(from);
        if (!set) continue;
        for (const n of names.split(',')) {
          const name = n
            .trim()
            .replace(/^type\s+/, '')
            .split(/\s+as\s+/)[0];
          if (name) set.add(`${name} (${file})`);
        }
      }
    }
  }
  return found;
}

describe('public API lists', () => {
  it("every name the README and docs/ import from a package is in that package's public API", () => {
    for (const [pkg, uses] of namesTheDocsImport()) {
      const list = PACKAGES.find((p) => p.name === pkg)!;
      const exported = new Set(declaredExports(join(ROOT, list.dir, 'dist/index.d.ts')).map((n) => n.replace(/^type /, '')));
      const missing = [...uses].filter((u) => !exported.has(u.slice(0, u.indexOf(' ('))));
      assert.deepEqual(missing, [], `${pkg}: the documents import names it does not export`);
      if (pkg === '@openagentio/nestjs')
        assert.ok(uses.size > 10, `only ${uses.size} imports found in the documents: is the pattern still right?`);
    }
  });

  for (const pkg of PACKAGES) {
    it(`${pkg.name} exports exactly test/packaging/api/${pkg.list}`, async () => {
      const declared = declaredExports(join(ROOT, pkg.dir, 'dist/index.d.ts'));
      const runtime = Object.keys((await import(pkg.name)) as object).sort();
      // The declarations and the module agree: every value declared is there at run time, and nothing else is.
      const values = declared.filter((n) => !n.startsWith('type ')).sort();
      assert.deepEqual(runtime, values, `${pkg.name}: its index.d.ts and its index.js export different values`);

      const actual = declared.sort((a, b) => a.replace(/^type /, '').localeCompare(b.replace(/^type /, ''), 'en')).join('\n') + '\n';
      const file = join(ROOT, 'test/packaging/api', pkg.list);
      if (process.env.UPDATE_API === '1') writeFileSync(file, actual);
      const expected = readFileSync(file, 'utf8');
      assert.equal(
        actual,
        expected,
        `${pkg.name}'s public API differs from test/packaging/api/${pkg.list}. If the change is meant, rewrite the ` +
          `list with \`UPDATE_API=1 npm test -- public-api\`, commit it, and add a CHANGELOG.md entry.`,
      );
    });
  }
});
