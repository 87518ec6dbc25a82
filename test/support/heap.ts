import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// The test runner starts files without --expose-gc; a memory assertion needs a collection it can ask for.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The heap in use after two full collections: what a test compares with a baseline. */
export function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
