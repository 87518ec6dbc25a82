import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPackage, MissingPackageError } from '@openagentio/nestjs';

describe('loadPackage (optional peer dependencies)', () => {
  it('a package that is not installed is an error naming it, what needs it and how to install it', async () => {
    const name = '@openagentio/no-such-package';
    await assert.rejects(
      loadPackage(name, 'SomeBridge', () => import(name)),
      (err: unknown) =>
        err instanceof MissingPackageError &&
        err.packageName === name &&
        /"@openagentio\/no-such-package" package is missing: SomeBridge needs it\. Install it with: npm install @openagentio\/no-such-package/.test(
          err.message,
        ),
    );
  });

  it('an installed package loads; any other failure passes through unchanged', async () => {
    const ajv = await loadPackage('ajv', 'test', () => import('ajv'));
    assert.equal(typeof ajv.default, 'function');
    const boom = new Error('broken inside');
    await assert.rejects(
      loadPackage('ajv', 'test', () => Promise.reject(boom)),
      (err) => err === boom,
    );
  });
});
