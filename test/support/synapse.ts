import { cachedInstall } from './cached-install.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nats-server.js';

/**
 * A real Synapse Matrix homeserver for tests: its own temp dir (config, signing key, SQLite file, log), a free
 * loopback port, every rate limit raised (tests send in bursts), ready when the client API answers. Synapse is
 * installed on first use by scripts/install-synapse.sh into a virtualenv cached outside the repository.
 *
 * @example
 * const synapse = await startSynapse();
 * after(() => synapse.stop());
 * const alice = await synapse.registerUser('alice', { admin: true });
 */
export interface SynapseOptions {
  /** `server_name`, the part after the colon in user IDs (default `localhost`). */
  serverName?: string;
  /** The rate limit of sending events for users without an override (default: effectively none). */
  messageRateLimit?: { perSecond: number; burstCount: number };
  /** Top-level config keys merged over the generated ones (e.g. `app_service_config_files`). */
  config?: Record<string, unknown>;
  /** How long a start may take before it fails (default 60 s). */
  readyTimeoutMs?: number;
}

export interface SynapseUser {
  localpart: string;
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
}

/** A rate limit no test reaches. */
const UNLIMITED = { per_second: 100_000, burst_count: 100_000 };
const ROOT = new URL('../../../', import.meta.url).pathname;
const INSTALLER = join(ROOT, 'scripts/install-synapse.sh');
// The python process runs under a tiny shell watchdog that kills it when our end of its stdin closes, so a test
// process that dies (even by SIGKILL) never leaves a Synapse behind. Each line on stdin names a signal to send
// (several: a SIGTERM that hangs is followed by a SIGKILL).
const WATCHDOG =
  'exec 3<&0; "$@" </dev/null & pid=$!; (while read sig <&3; do kill -"$sig" "$pid"; done; kill -KILL "$pid") >/dev/null 2>&1 & wait "$pid"';
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.stdin?.end();
    } catch {
      // already gone
    }
  }
});

/**
 * The venv's python executable: `SYNAPSE_PYTHON` if set, else what scripts/install-synapse.sh prints (it returns at
 * once when the venv is there; the first install takes about half a minute and logs to our stderr).
 */
export function synapsePython(): Promise<string> {
  return cachedInstall(INSTALLER, 'SYNAPSE_PYTHON');
}

/** Starts a Synapse in a fresh temp dir and resolves once its client API answers. */
export function startSynapse(options: SynapseOptions = {}): Promise<SynapseServer> {
  return SynapseServer.start(options);
}

export class SynapseServer {
  readonly serverName: string;
  private proc?: ChildProcess;
  private output = '';
  private readonly secret = randomBytes(24).toString('hex');
  private admin?: Promise<SynapseUser>;
  /** This server's signing key ID, random: tells our Synapse from another one on the same port. */
  private readonly keyId: string;

  private constructor(
    readonly port: number,
    /** The temp dir holding config, key, database and log; removed by `stop()`. */
    readonly dir: string,
    private readonly python: string,
    private readonly options: SynapseOptions,
  ) {
    this.serverName = options.serverName ?? 'localhost';
    const key = signingKey();
    this.keyId = key.id;
    writeFileSync(join(dir, 'signing.key'), key.file);
    writeFileSync(join(dir, 'log.yaml'), JSON.stringify(logConfig(join(dir, 'homeserver.log')), null, 2));
    mkdirSync(join(dir, 'media'));
    // JSON is YAML: no YAML writer needed.
    writeFileSync(this.configFile, JSON.stringify(this.config(), null, 2));
  }

  static async start(options: SynapseOptions = {}): Promise<SynapseServer> {
    const python = await synapsePython();
    // A port found free can be taken before Synapse binds it (test files run in parallel): on "address already in
    // use", try again on another port.
    for (let attempt = 1; ; attempt++) {
      const server = new SynapseServer(await freePort(), mkdtempSync(join(tmpdir(), 'synapse-test-')), python, options);
      try {
        await server.spawn();
        return server;
      } catch (err) {
        await server.stop();
        if (attempt >= 3 || !/address already in use/i.test(String((err as Error).message))) throw err;
      }
    }
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private get configFile(): string {
    return join(this.dir, 'homeserver.yaml');
  }

  /** The last `lines` lines of Synapse's log file (WARNING and up) and of its stdout/stderr. */
  logTail(lines = 40): string {
    let log = '';
    try {
      log = readFileSync(join(this.dir, 'homeserver.log'), 'utf8');
    } catch {
      // not written yet
    }
    const tail = (s: string) => s.trimEnd().split('\n').slice(-lines).join('\n');
    return `--- homeserver.log ---\n${tail(log)}\n--- stdout/stderr ---\n${tail(this.output)}`;
  }

  /** Registers a user through the shared-secret admin API (the nonce, then an HMAC-SHA1 of the fields). */
  async registerUser(localpart: string, opts: { admin?: boolean; password?: string } = {}): Promise<SynapseUser> {
    const admin = opts.admin ?? false;
    const password = opts.password ?? randomBytes(12).toString('hex');
    const url = `${this.baseUrl}/_synapse/admin/v1/register`;
    const { nonce } = (await this.json('GET', url)) as { nonce: string };
    const mac = createHmac('sha1', this.secret)
      .update([nonce, localpart, password, admin ? 'admin' : 'notadmin'].join('\0'))
      .digest('hex');
    const res = (await this.json('POST', url, undefined, { nonce, username: localpart, password, admin, mac })) as {
      user_id: string;
      access_token: string;
      device_id: string;
    };
    return { localpart, userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id, password };
  }

  /**
   * Sets one user's event-sending rate limit (whole numbers; 0, 0 means none) through Synapse's admin API, with the
   * harness's own admin account unless `adminToken` is given. Returns what Synapse now holds.
   */
  async overrideRateLimit(
    userId: string,
    messagesPerSecond: number,
    burstCount: number,
    adminToken?: string,
  ): Promise<{ messages_per_second: number; burst_count: number }> {
    const token = adminToken ?? (await this.adminToken());
    return (await this.json('POST', this.rateLimitUrl(userId), token, {
      messages_per_second: messagesPerSecond,
      burst_count: burstCount,
    })) as { messages_per_second: number; burst_count: number };
  }

  /** Removes a user's rate-limit override (back to the server's `rc_message`). */
  async resetRateLimit(userId: string, adminToken?: string): Promise<void> {
    await this.json('DELETE', this.rateLimitUrl(userId), adminToken ?? (await this.adminToken()));
  }

  /** Logs out the device of `accessToken`: the token is invalid from then on (401 M_UNKNOWN_TOKEN). */
  async logout(accessToken: string): Promise<void> {
    await this.json('POST', `${this.baseUrl}/_matrix/client/v3/logout`, accessToken, {});
  }

  /** Deactivates a user (admin API): all its tokens become invalid and it can no longer log in. */
  async deactivateUser(userId: string, adminToken?: string): Promise<void> {
    const url = `${this.baseUrl}/_synapse/admin/v1/deactivate/${encodeURIComponent(userId)}`;
    await this.json('POST', url, adminToken ?? (await this.adminToken()), { erase: false });
  }

  /** Kills Synapse (SIGKILL by default: a crash) and waits for it to exit; the temp dir stays for `restart()`. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    if (!this.running) {
      proc.stdin?.end(); // lets the watchdog's reader finish
      return;
    }
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.stdin?.write(`${signal.replace(/^SIG/, '')}\n`);
    await exited;
  }

  /** Starts Synapse again on the same port with the same database (shutting it down first if it runs). */
  async restart(): Promise<void> {
    if (this.running) await this.terminate();
    await this.spawn();
  }

  /** Shuts Synapse down (SIGTERM, SIGKILL after 10 s) and removes its temp dir. */
  async stop(): Promise<void> {
    await this.terminate();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async terminate(): Promise<void> {
    const timer = setTimeout(() => void this.kill('SIGKILL'), 10_000);
    try {
      await this.kill('SIGTERM');
    } finally {
      clearTimeout(timer);
    }
  }

  private async ownsPort(): Promise<boolean> {
    const res = await fetch(`${this.baseUrl}/_matrix/key/v2/server`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { verify_keys?: Record<string, unknown> };
    return `ed25519:${this.keyId}` in (body.verify_keys ?? {});
  }

  private rateLimitUrl(userId: string): string {
    return `${this.baseUrl}/_synapse/admin/v1/users/${encodeURIComponent(userId)}/override_ratelimit`;
  }

  /** The harness's own admin account, registered on first use. */
  private async adminToken(): Promise<string> {
    this.admin ??= this.registerUser('synapse-harness-admin', { admin: true });
    this.admin.catch(() => (this.admin = undefined));
    return (await this.admin).accessToken;
  }

  private async json(method: string, url: string, token?: string, body?: unknown): Promise<unknown> {
    const res = await fetch(url, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url.replace(this.baseUrl, '')}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : {};
  }

  private config(): Record<string, unknown> {
    const dir = this.dir;
    const o = this.options;
    const rc = o.messageRateLimit ? { per_second: o.messageRateLimit.perSecond, burst_count: o.messageRateLimit.burstCount } : UNLIMITED;
    return {
      server_name: this.serverName,
      public_baseurl: `${this.baseUrl}/`,
      listeners: [
        {
          port: this.port,
          bind_addresses: ['127.0.0.1'],
          type: 'http',
          tls: false,
          x_forwarded: false,
          // keys: /_matrix/key/v2/server, for the identity check in spawn().
          resources: [{ names: ['client', 'keys'], compress: false }],
        },
      ],
      // A file, not :memory:, so that restart() finds the rooms and accounts again.
      database: { name: 'sqlite3', args: { database: join(dir, 'homeserver.db') } },
      log_config: join(dir, 'log.yaml'),
      signing_key_path: join(dir, 'signing.key'),
      media_store_path: join(dir, 'media'),
      enable_media_repo: false,
      registration_shared_secret: this.secret,
      macaroon_secret_key: randomBytes(24).toString('hex'),
      form_secret: randomBytes(24).toString('hex'),
      report_stats: false,
      trusted_key_servers: [],
      suppress_key_server_warning: true,
      bcrypt_rounds: 4,
      presence: { enabled: false },
      rc_message: rc,
      rc_registration: UNLIMITED,
      rc_registration_token_validity: UNLIMITED,
      rc_login: { address: UNLIMITED, account: UNLIMITED, failed_attempts: UNLIMITED },
      rc_joins: { local: UNLIMITED, remote: UNLIMITED },
      rc_joins_per_room: UNLIMITED,
      rc_invites: { per_room: UNLIMITED, per_user: UNLIMITED, per_issuer: UNLIMITED },
      rc_third_party_invite: UNLIMITED,
      rc_admin_redaction: UNLIMITED,
      rc_3pid_validation: UNLIMITED,
      rc_key_requests: UNLIMITED,
      ...o.config,
    };
  }

  private spawn(): Promise<void> {
    this.output = '';
    const args = [this.python, '-m', 'synapse.app.homeserver', '-c', this.configFile];
    const proc = spawn('sh', ['-c', WATCHDOG, 'synapse-watchdog', ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: this.dir });
    this.proc = proc;
    live.add(proc);
    proc.stdin?.on('error', () => {}); // EPIPE once the watchdog is gone
    proc.once('exit', () => {
      live.delete(proc);
      proc.stdin?.end(); // lets the watchdog's reader finish
    });
    const collect = (c: Buffer) => (this.output = (this.output + c.toString()).slice(-64 * 1024));
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    const timeout = this.options.readyTimeoutMs ?? 60_000;
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        proc.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      const onExit = (code: number | null, signal: string | null) =>
        finish(new Error(`Synapse on port ${this.port} exited (${code ?? signal}) before it was ready:\n${this.logTail()}`));
      const timer = setTimeout(
        () => finish(new Error(`Synapse on port ${this.port} not ready after ${timeout} ms:\n${this.logTail()}`)),
        timeout,
      );
      proc.once('exit', onExit);
      proc.once('error', (err) => finish(new Error(`cannot start ${this.python}: ${err.message}`)));
      const poll = async () => {
        while (!done) {
          try {
            const res = await fetch(`${this.baseUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(2000) });
            await res.body?.cancel();
            // Our own server, not another test file's that took the port first (ours then exits with "address
            // already in use", and start() tries another port).
            if (res.status === 200 && (await this.ownsPort())) return finish();
          } catch {
            // not listening yet
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      void poll();
    });
  }
}

/**
 * An ed25519 signing key in Synapse's file format (`ed25519 <key id> <unpadded base64 seed>`). Made here rather than
 * by `synapse.app.homeserver --generate-keys`: that is a second Python start, about 1 s, as long as Synapse's own
 * start until ready.
 */
function signingKey(): { id: string; file: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const id = `a_${randomBytes(3).toString('hex')}`;
  return { id, file: `ed25519 ${id} ${seed.toString('base64').replace(/=+$/, '')}\n` };
}

/** Python logging config: WARNING and up, to a file in the temp dir (read back by `logTail`). */
function logConfig(file: string): Record<string, unknown> {
  return {
    version: 1,
    formatters: { plain: { format: '%(asctime)s %(levelname)s %(name)s: %(message)s' } },
    handlers: { file: { class: 'logging.FileHandler', formatter: 'plain', filename: file } },
    root: { level: 'WARNING', handlers: ['file'] },
    disable_existing_loggers: false,
  };
}
