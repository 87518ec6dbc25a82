import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** dist/ (this file runs as dist/bench/lib/optional.js). */
const distRoot = new URL('../../', import.meta.url);

/**
 * Imports a compiled module of the project if it exists yet (paths relative to dist/, e.g.
 * `libs/bus/src/transport/nats/nats-transport.js`). Modules being written concurrently by others are loaded
 * this way, so the bench compiles before they exist and picks them up as soon as they do.
 */
export async function importIfPresent<T = any>(relFromDist: string): Promise<T | undefined> {
  const url = new URL(relFromDist, distRoot);
  if (!existsSync(fileURLToPath(url))) return undefined;
  return (await import(url.href)) as T;
}
