import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MissingPackageError } from '@openagentio/nestjs';
import { loadPackage, loadPackages } from '@openagentio/nestjs/internal/utils/load-package.js';

// Specifiers held in variables: TypeScript leaves them alone and Node looks them up at run time.
const absentA: string = '@openagentio/test-absent-a';
const absentB: string = '@openagentio/test-absent-b';
const present: string = 'rxjs';

describe('optional peers: a missing package is named, all at once', () => {
  it('one missing package: its name and the install line', async () => {
    await assert.rejects(
      loadPackage(absentA, 'Feature X', () => import(absentA)),
      (e: MissingPackageError) =>
        e instanceof MissingPackageError &&
        e.packageName === absentA &&
        e.message === `The "${absentA}" package is missing: Feature X needs it. Install it with: npm install ${absentA}`,
    );
  });

  it('several missing: one error naming every one, one npm install line', async () => {
    await assert.rejects(
      loadPackages('TasksModule (store: jetstream)', [
        [absentA, () => import(absentA)],
        [present, () => import(present)],
        [absentB, () => import(absentB)],
      ]),
      (e: MissingPackageError) => {
        assert.deepEqual(e.packageNames, [absentA, absentB]);
        assert.equal(
          e.message,
          `The "${absentA}" and "${absentB}" packages are missing: TasksModule (store: jetstream) needs them. Install them with: npm install ${absentA} ${absentB}`,
        );
        return true;
      },
    );
  });

  it('all present: the modules in order; another failure passes through as it is', async () => {
    const [rx, path] = await loadPackages('X', [
      [present, () => import(present)],
      ['node:path', () => import('node:path')],
    ]);
    assert.equal(typeof (rx as { of?: unknown }).of, 'function');
    assert.equal(typeof (path as { join?: unknown }).join, 'function');
    const boom = new Error('syntax error inside the package');
    await assert.rejects(loadPackages('X', [[present, () => Promise.reject(boom)]]), (e) => e === boom);
  });
});
