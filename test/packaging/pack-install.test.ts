import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BusClient, NatsTransport } from '@openagentio/nestjs';
import { deferred } from '../support/bus-fixture.js';
import { NatsServer } from '../support/nats-server.js';

// A Nest user's view: the three packages packed as npm would publish them, installed into a fresh Nest app in a
// folder outside the repository, compiled with that app's own tsc and run. It fails on a missing export (the app
// does not compile), a file missing from a tarball (it does not compile or run), or a second copy of Nest.

const ROOT = new URL('../../../', import.meta.url).pathname;
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const version = (name: string): string => rootPkg.dependencies[name] ?? rootPkg.devDependencies[name];

interface Run {
  code: number | null;
  out: string;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function ok(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await run(cmd, args, cwd, env);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed in ${cwd}:\n${r.out}`);
  return r.out;
}

const APP_MODULE = `import { Controller, Module } from '@nestjs/common';
import { BusClient, BusModule, Invoke, Payload, Stream, Subscribe } from '@openagentio/nestjs';

@Controller()
export class PackedAgent {
  constructor(private readonly bus: BusClient) {}

  @Invoke('packed.add')
  add(@Payload() p: { a: number; b: number }): number {
    return p.a + p.b;
  }

  @Stream('packed.count')
  async *count(@Payload() p: { upTo: number }): AsyncGenerator<string> {
    for (let i = 1; i <= p.upTo; i++) yield String(i);
  }

  @Subscribe('packed.events.>')
  async seen(@Payload() p: { n: number }): Promise<void> {
    await this.bus.publish('packed.seen', { n: p.n, by: 'packed-app' });
  }
}

@Module({ imports: [BusModule.forRoot({ agentId: 'packed' })], controllers: [PackedAgent] })
export class AppModule {}
`;

// Over memory the app checks itself; with NATS_URL it serves until stopped and the test calls it.
const MAIN = `import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { BusClient, busMicroservice } from '@openagentio/nestjs';
import { AppModule } from './app.module.js';

const app = await NestFactory.createMicroservice(AppModule, { ...busMicroservice(), logger: ['error', 'warn'] });
await app.listen();
const bus = app.get(BusClient);
if (process.env.NATS_URL) {
  console.log('READY ' + bus.transport.kind);
} else {
  const sum = await bus.invoke('packed.add', { a: 2, b: 3 });
  const text = await bus.stream('packed.count', { upTo: 3 }).text();
  const seen = new Promise((resolve) => bus.subscribe('packed.seen', (p) => resolve(p)));
  await bus.publish('packed.events.one', { n: 7 });
  console.log('RESULT ' + JSON.stringify({ transport: bus.transport.kind, sum, text, seen: await seen }));
  await app.close();
}
`;

const BRIDGES_CHECK = `import { BridgeModule, McpToolBridge } from '@openagentio/nestjs-bridges';
import { GatewayModule } from '@openagentio/nestjs-gateway';
import { MissingPackageError } from '@openagentio/nestjs';

// The bridges and gateway entries load without the MCP SDK; starting an MCP bridge names the missing package.
console.log('ENTRY ' + typeof BridgeModule + ' ' + typeof GatewayModule);
try {
  await new McpToolBridge('probe', { command: 'true' }).start({ bus: undefined as never, logger: console } as never);
  console.log('MCP started?!');
} catch (err) {
  console.log('MCP ' + (err instanceof MissingPackageError ? 'missing:' + err.packageName : 'other:' + (err as Error).message));
}
`;

describe('packed and installed into a fresh Nest application', () => {
  let dir: string;
  let app: string;
  let nats: NatsServer;
  const tarballs: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'oaio-pack-'));
    nats = await NatsServer.start();
  });
  after(async () => {
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('packs each package with its built dist, types and README, and nothing stale', { timeout: 120_000 }, async () => {
    // The suite's build (tsc -b) made dist/; --ignore-scripts keeps prepack from rebuilding under running tests.
    const out = await ok(
      'npm',
      [
        'pack',
        '--workspace',
        'libs/bus',
        '--workspace',
        'libs/bridge',
        '--workspace',
        'libs/gateway',
        '--ignore-scripts',
        '--json',
        '--pack-destination',
        dir,
      ],
      ROOT,
    );
    const packs = JSON.parse(out.slice(out.indexOf('['))) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
    for (const p of packs) {
      tarballs[p.name] = join(dir, p.filename);
      const files = new Set(p.files.map((f) => f.path));
      for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts'])
        assert.ok(files.has(f), `${p.name} tarball lacks ${f}`);
      for (const f of files) {
        assert.ok(!f.includes('tsbuildinfo') && !f.startsWith('test/') && !f.includes('node_modules'), `${p.name} ships ${f}`);
        // A compiled file without its source is left over from a file that was moved or deleted.
        if (f.startsWith('dist/') && f.endsWith('.js')) {
          const src = `src/${f.slice(5, -3)}.ts`;
          assert.ok(files.has(src), `${p.name} ships ${f} but has no ${src}: a stale build (run npm run clean)`);
        }
      }
    }
    assert.deepEqual(Object.keys(tarballs).sort(), ['@openagentio/nestjs', '@openagentio/nestjs-bridges', '@openagentio/nestjs-gateway']);
  });

  it(
    'installs into an app with only Nest and the bus package (no NATS client, no MCP SDK), which compiles with its own tsc and runs on memory',
    { timeout: 300_000 },
    async () => {
      app = join(dir, 'app');
      mkdirSync(join(app, 'src'), { recursive: true });
      // What `nest new` writes for an ESM app, reduced to what this check needs.
      writeFileSync(
        join(app, 'package.json'),
        JSON.stringify(
          {
            name: 'packed-app',
            private: true,
            type: 'module',
            scripts: { build: 'tsc -p tsconfig.json', start: 'node dist/main.js' },
            dependencies: {
              '@nestjs/common': version('@nestjs/common'),
              '@nestjs/core': version('@nestjs/core'),
              '@nestjs/microservices': version('@nestjs/microservices'),
              '@opentelemetry/api': version('@opentelemetry/api'),
              '@openagentio/nestjs': `file:${tarballs['@openagentio/nestjs']}`,
              'reflect-metadata': version('reflect-metadata'),
              rxjs: version('rxjs'),
            },
            devDependencies: { typescript: version('typescript'), '@types/node': version('@types/node') },
          },
          null,
          2,
        ),
      );
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'ES2023',
            declaration: true,
            experimentalDecorators: true,
            emitDecoratorMetadata: true,
            strict: true,
            skipLibCheck: true,
            outDir: 'dist',
            rootDir: 'src',
            types: ['node'],
          },
          include: ['src'],
        }),
      );
      writeFileSync(join(app, 'src/app.module.ts'), APP_MODULE);
      writeFileSync(join(app, 'src/main.ts'), MAIN);
      await ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], app);
      assert.ok(!existsSync(join(app, 'node_modules/@nats-io/transport-node')), 'the NATS client is an optional peer: not installed');
      assert.ok(!existsSync(join(app, 'node_modules/@modelcontextprotocol/sdk')), 'the MCP SDK is not installed with the bus');
      await ok(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], app);
      const out = await ok(process.execPath, ['dist/main.js'], app);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      assert.ok(line, `no result from the app:\n${out}`);
      assert.deepEqual(JSON.parse(line.slice(7)), { transport: 'memory', sum: 5, text: '123', seen: { n: 7, by: 'packed-app' } });
    },
  );

  it("uses the app's single copy of Nest", { timeout: 60_000 }, async () => {
    const tree = JSON.parse(
      await ok('npm', ['ls', '@nestjs/core', '@nestjs/common', '@nestjs/microservices', '--all', '--json'], app),
    ) as unknown;
    const copies = new Map<string, Set<string>>();
    const walk = (node: { dependencies?: Record<string, { version?: string; dependencies?: unknown }> }) => {
      for (const [name, dep] of Object.entries(node.dependencies ?? {})) {
        if (name.startsWith('@nestjs/')) (copies.get(name) ?? copies.set(name, new Set()).get(name)!).add(dep.version ?? '?');
        walk(dep as never);
      }
    };
    walk(tree as never);
    for (const [name, versions] of copies) assert.equal(versions.size, 1, `${name} is installed in ${versions.size} versions`);
    for (const pkg of ['nestjs', 'nestjs-bridges', 'nestjs-gateway']) {
      assert.ok(
        !existsSync(join(app, `node_modules/@openagentio/${pkg}/node_modules/@nestjs`)),
        `@openagentio/${pkg} carries its own @nestjs`,
      );
    }
  });

  it("the package's openagentio command boots the app's module and prints its NATS user", { timeout: 120_000 }, async () => {
    const out = await ok(
      join(app, 'node_modules/.bin/openagentio'),
      ['nats-permissions', '--app', 'dist/app.module.js', '--format', 'conf'],
      app,
    );
    assert.match(out, /user: "packed", password: \$NATS_PASS_PACKED/);
    for (const s of ['_INBOX.packed.>', 'acp.v1.invoke.packed.add', 'acp.v1.invoke.packed.count', 'acp.v1.events.packed.events.>'])
      assert.ok(out.includes(JSON.stringify(s)), `${s} in:\n${out}`);
  });

  it(
    'with the NATS client, the bridges and the gateway packages added: serves @Invoke, @Stream and @Subscribe over a real nats-server; the bridges and gateway entries load without the MCP SDK',
    { timeout: 300_000 },
    async () => {
      await ok(
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--prefer-offline',
          '--loglevel=error',
          `@nats-io/transport-node@${version('@nats-io/transport-node')}`,
          `file:${tarballs['@openagentio/nestjs-bridges']}`,
          `file:${tarballs['@openagentio/nestjs-gateway']}`,
        ],
        app,
      );
      // The gateway's errors extend the bridges' BridgeError: a private copy of the bridges (or of Nest) under the
      // gateway would make that base, and Nest's tokens, a second class.
      for (const pkg of ['nestjs-bridges', 'nestjs-gateway']) {
        assert.ok(existsSync(join(app, `node_modules/@openagentio/${pkg}/package.json`)), `@openagentio/${pkg} is not installed`);
        for (const nested of ['@nestjs', '@openagentio'])
          assert.ok(
            !existsSync(join(app, `node_modules/@openagentio/${pkg}/node_modules/${nested}`)),
            `@openagentio/${pkg} carries its own ${nested}`,
          );
      }
      writeFileSync(join(app, 'src/bridges-check.ts'), BRIDGES_CHECK);
      await ok(join(app, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], app);
      const check = await ok(process.execPath, ['dist/bridges-check.js'], app);
      assert.match(check, /ENTRY function function/);
      assert.match(check, /MCP missing:@modelcontextprotocol\/sdk/);

      const child = spawn(process.execPath, ['dist/main.js'], {
        cwd: app,
        env: { ...process.env, NATS_URL: nats.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      const ready = deferred<void>();
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('READY nats')) ready.resolve();
      });
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => ready.reject(new Error(`app exited (${code}) before it was ready:\n${out}`)));
      const caller = new BusClient(new NatsTransport({ servers: nats.url }), { agentId: 'pack-test' });
      try {
        await ready.promise;
        await caller.connect();
        assert.equal(await caller.invoke('packed.add', { a: 20, b: 22 }), 42);
        assert.equal(await caller.stream('packed.count', { upTo: 4 }).text(), '1234');
        const seen = deferred<unknown>();
        await caller.subscribe('packed.seen', (p) => seen.resolve(p)).ready;
        await caller.publish('packed.events.two', { n: 9 });
        assert.deepEqual(await seen.promise, { n: 9, by: 'packed-app' });
      } finally {
        await caller.close();
        child.kill();
      }
    },
  );
});
