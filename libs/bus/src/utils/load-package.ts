/**
 * Loads an optional peer dependency on first use. A package that is not installed becomes an error that names
 * it and what needs it, the way `@nestjs/microservices` reports a missing transport client, instead of a bare
 * ERR_MODULE_NOT_FOUND from deep inside a stack.
 *
 * @example
 * const nats = await loadPackage('@nats-io/transport-node', 'NatsTransport', () => import('@nats-io/transport-node'));
 */
export async function loadPackage<T>(name: string, usedBy: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (isMissing(err, name)) throw new MissingPackageError(name, usedBy);
    throw err;
  }
}

/** Thrown by {@link loadPackage} when an optional peer dependency is not installed. */
export class MissingPackageError extends Error {
  constructor(
    readonly packageName: string,
    readonly usedBy: string,
  ) {
    super(`The "${packageName}" package is missing: ${usedBy} needs it. Install it with: npm install ${packageName}`);
    this.name = 'MissingPackageError';
  }
}

function isMissing(err: unknown, name: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  // Only the package itself being absent counts; a missing file inside an installed package is another fault.
  const message = String((err as Error).message);
  return message.includes(`'${name}'`) || message.includes(`"${name}"`);
}
