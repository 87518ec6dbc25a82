import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

// Each package's public surface, as a user's `import { … } from '<package>'` sees it, is checked in under
// test/packaging/api/. A change to it (a name added, removed or turned from a value into a type) fails here until
// the list is rewritten with UPDATE_API=1, so it shows as a diff in review. A name belongs in the list only when a
// user needs it: what the package itself, its tests or the other package use stays under `<package>/internal/*`.

const ROOT = new URL('../../../', import.meta.url).pathname;

const PACKAGES = [
  { name: '@openagentio/nestjs', dir: 'libs/bus', list: 'nestjs.txt' },
  { name: '@openagentio/nestjs-bridges', dir: 'libs/bridge', list: 'nestjs-bridges.txt' },
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

describe('public API lists', () => {
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
