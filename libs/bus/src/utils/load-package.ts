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

/**
 * Loads several optional peers a feature needs together. When more than one is missing, one error names them all
 * (one `npm install` line), rather than one per run.
 *
 * @example
 * const [js, kv] = await loadPackages('TasksModule (store: jetstream)', [
 *   ['@nats-io/jetstream', () => import('@nats-io/jetstream')],
 *   ['@nats-io/kv', () => import('@nats-io/kv')],
 * ]);
 */
export async function loadPackages<T extends readonly unknown[]>(
  usedBy: string,
  packages: { [K in keyof T]: readonly [name: string, load: () => Promise<T[K]>] },
): Promise<T> {
  const settled = await Promise.allSettled(packages.map(([, load]) => load()));
  const missing: string[] = [];
  settled.forEach((r, i) => {
    if (r.status === 'rejected') {
      if (!isMissing(r.reason, packages[i][0])) throw r.reason;
      missing.push(packages[i][0]);
    }
  });
  if (missing.length > 0) throw new MissingPackageError(missing, usedBy);
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Thrown by {@link loadPackage} and {@link loadPackages} when optional peer dependencies are not installed. */
export class MissingPackageError extends Error {
  /** Every missing package (loadPackages names all of a feature's at once). */
  readonly packageNames: readonly string[];
  constructor(
    packageName: string | readonly string[],
    readonly usedBy: string,
  ) {
    const names = typeof packageName === 'string' ? [packageName] : [...packageName];
    const quoted = names.map((n) => `"${n}"`);
    const list = quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(', ')} and ${quoted[quoted.length - 1]}`;
    super(
      names.length === 1
        ? `The ${list} package is missing: ${usedBy} needs it. Install it with: npm install ${names[0]}`
        : `The ${list} packages are missing: ${usedBy} needs them. Install them with: npm install ${names.join(' ')}`,
    );
    this.name = 'MissingPackageError';
    this.packageNames = names;
  }

  /** The first missing package. */
  get packageName(): string {
    return this.packageNames[0];
  }
}

function isMissing(err: unknown, name: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  // Only the package itself being absent counts; a missing file inside an installed package is another fault.
  const message = String((err as Error).message);
  return message.includes(`'${name}'`) || message.includes(`"${name}"`);
}
