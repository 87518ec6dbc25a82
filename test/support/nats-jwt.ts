import { randomBytes } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';

/**
 * NATS decentralised auth (JWT) for tests, written out with nkeys because no `nsc` is installed here: an operator,
 * an account it signs, users the account signs, and the `.creds` files nats.js reads. The claims are the JWT v2
 * ones nats-server checks (`nats.type`, `nats.version` 2, limits of -1 for "no limit").
 *
 * @example
 * const op = new TestOperator();
 * const server = await NatsServer.start({ extraConfig: op.serverConfig() });
 * writeFileSync(path, op.userCreds('agent-a'));
 */
type KeyPair = ReturnType<typeof nkeys.createUser>;

const NO_LIMITS = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };

function b64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

/** A JWT of `claims.nats` for `subject`, signed by `issuer` (header `ed25519-nkey`, as nsc writes them). */
function signJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>, exp?: number): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims: Record<string, unknown> = {
    jti: randomBytes(20).toString('hex').toUpperCase(),
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats,
  };
  if (exp !== undefined) claims.exp = exp;
  const body = b64url(JSON.stringify(claims));
  return `${header}.${body}.${b64url(issuer.sign(new TextEncoder().encode(`${header}.${body}`)))}`;
}

export interface TestUserOptions {
  /** Publish and subscribe permissions, as in nsc (`{ deny: ['acp.v1.invoke.secret'] }`). */
  pub?: { allow?: string[]; deny?: string[] };
  sub?: { allow?: string[]; deny?: string[] };
  /** Expiry, seconds since the epoch. */
  exp?: number;
}

export class TestOperator {
  private readonly operator = nkeys.createOperator();
  private readonly account = nkeys.createAccount();

  /** The `operator` / `resolver` lines of a nats-server config that trusts this operator and knows its account. */
  serverConfig(): string {
    const operatorJwt = signJwt(this.operator, this.operator.getPublicKey(), 'test-operator', { type: 'operator', version: 2 });
    const accountJwt = signJwt(this.operator, this.account.getPublicKey(), 'test-account', {
      limits: NO_LIMITS,
      default_permissions: { pub: {}, sub: {} },
      type: 'account',
      version: 2,
    });
    return `operator: ${operatorJwt}\nresolver: MEMORY\nresolver_preload: {\n  ${this.account.getPublicKey()}: ${accountJwt}\n}\n`;
  }

  /** The text of a `.creds` file for a new user of this operator's account. */
  userCreds(name: string, opts: TestUserOptions = {}): string {
    return credsFor(this.account, name, opts);
  }

  /** A `.creds` file for a user of an account this operator never signed (the server must refuse it). */
  strangerCreds(name: string): string {
    return credsFor(nkeys.createAccount(), name, {});
  }
}

function credsFor(account: KeyPair, name: string, opts: TestUserOptions): string {
  const user = nkeys.createUser();
  const jwt = signJwt(
    account,
    user.getPublicKey(),
    name,
    { pub: opts.pub ?? {}, sub: opts.sub ?? {}, subs: -1, data: -1, payload: -1, type: 'user', version: 2 },
    opts.exp,
  );
  const seed = new TextDecoder().decode(user.getSeed());
  return [
    '-----BEGIN NATS USER JWT-----',
    jwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    'NKEYs are sensitive and should be treated as secrets.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    seed,
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
}
