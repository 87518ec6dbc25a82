import 'reflect-metadata';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Controller, Injectable, Module, UseGuards, type CanActivate, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BusClient, BusError, BusModule, BusServer, Invoke, MemoryBroker, MemoryTransport, Stream, Subscribe } from '@openagentio/nestjs';
import { deferred, RecordingLogger } from '../support/bus-fixture.js';
import { startNestBusApp } from '../support/nest-bus-app.js';

/** A Nest logger that keeps every line, and resolves `waitFor` when one matches. */
class CollectingLogger implements LoggerService {
  readonly lines: Array<{ level: string; text: string }> = [];
  private waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  private add(level: string, message: unknown, rest: unknown[]): void {
    const text = [message, ...rest].map((x) => (x instanceof Error ? `${x.message} ${x.stack}` : String(x))).join(' ');
    this.lines.push({ level, text });
    this.waiters = this.waiters.filter((w) => (w.re.test(text) ? (w.resolve(text), false) : true));
  }
  log(m: unknown, ...r: unknown[]): void {
    this.add('log', m, r);
  }
  warn(m: unknown, ...r: unknown[]): void {
    this.add('warn', m, r);
  }
  error(m: unknown, ...r: unknown[]): void {
    this.add('error', m, r);
  }
  debug(m: unknown, ...r: unknown[]): void {
    this.add('debug', m, r);
  }
  /** The first line matching `re`; rejects after `ms` (a timer that also keeps the event loop alive meanwhile). */
  waitFor(re: RegExp, ms = 10_000): Promise<string> {
    const hit = this.lines.find((l) => re.test(l.text));
    if (hit) return Promise.resolve(hit.text);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line matching ${re} within ${ms} ms`)), ms);
      this.waiters.push({
        re,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }
}

@Injectable()
class AllowAll implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Controller()
class ForgottenAgent {
  @Invoke('forgotten.ask')
  ask(): string {
    return 'never';
  }
  @Stream('forgotten.write')
  write(): string {
    return 'never';
  }
  @Subscribe('forgotten.*')
  on(): void {}
}

@Controller()
class FirstAgent {
  @Invoke('dup.target')
  a(): number {
    return 1;
  }
}

@Controller()
class SecondAgent {
  @Invoke('dup.target')
  b(): number {
    return 2;
  }
}

@Controller()
class CrashingAgent {
  // A guard puts the handler on Nest's full pipeline (guards, interceptors, filters).
  @UseGuards(AllowAll)
  @Invoke('crash.piped')
  piped(): never {
    throw new Error('db down: postgres://admin:hunter2@db/orders');
  }
}

describe('first contact: what a newcomer meets in the log', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('handlers in an app that never starts a BusServer get one warning naming each of them', async () => {
    const logger = new CollectingLogger();
    const previous = BusServer.unservedWarningDelayMs;
    BusServer.unservedWarningDelayMs = 50;
    @Module({
      imports: [BusModule.forRoot({ agentId: 'forgot', transport: { memory: { broker: new MemoryBroker() } } })],
      controllers: [ForgottenAgent],
    })
    class ForgetfulModule {}
    try {
      const app = await NestFactory.create(ForgetfulModule, { logger });
      closers.push(() => app.close());
      await app.init(); // no connectMicroservice, no startAllMicroservices
      const line = await logger.waitFor(/not served/);
      assert.match(line, /3 bus handler\(s\) are not served, so callers get NO_HANDLER/);
      assert.match(line, /ForgottenAgent\.ask \(@Invoke 'forgotten\.ask'\)/);
      assert.match(line, /ForgottenAgent\.write \(@Stream 'forgotten\.write'\)/);
      assert.match(line, /ForgottenAgent\.on \(@Subscribe 'forgotten\.\*'\)/);
      assert.match(line, /connectMicroservice\(\{ strategy: app\.get\(BusServer\) \}\)/);
      assert.equal(logger.lines.filter((l) => /not served/.test(l.text)).length, 1);
    } finally {
      BusServer.unservedWarningDelayMs = previous;
    }
  });

  it('an app that starts its BusServer gets no such warning', async () => {
    const logger = new CollectingLogger();
    const previous = BusServer.unservedWarningDelayMs;
    BusServer.unservedWarningDelayMs = 20;
    @Module({
      imports: [BusModule.forRoot({ agentId: 'served', transport: { memory: { broker: new MemoryBroker() } } })],
      controllers: [ForgottenAgent],
    })
    class ServedModule {}
    try {
      const app = await NestFactory.create(ServedModule, { logger });
      closers.push(() => app.close());
      app.connectMicroservice({ strategy: app.get(BusServer) });
      await app.startAllMicroservices();
      await app.init();
      // The check is due 20 ms after bootstrap: wait for a marker logged well after it.
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(logger.lines.filter((l) => /not served/.test(l.text)).length, 0);
      assert.ok(logger.lines.some((l) => /serving 3 bus handler/.test(l.text)));
    } finally {
      BusServer.unservedWarningDelayMs = previous;
    }
  });

  it('two handlers for one target: the error names both classes and methods', async () => {
    const app = await startNestBusApp({ agentId: 'dup', controllers: [FirstAgent, SecondAgent], listen: false });
    closers.push(() => app.close());
    await assert.rejects(app.listen(), (e: BusError) => {
      assert.match(
        e.message,
        /target "dup\.target" already has a handler: FirstAgent\.a \(@Invoke\) and SecondAgent\.b \(@Invoke\) both declare it/,
      );
      return true;
    });
  });

  it("a handler error on Nest's pipeline is logged once, with the error id the caller sees", async () => {
    const logger = new CollectingLogger();
    const broker = new MemoryBroker();
    const app = await startNestBusApp({
      agentId: 'crashy',
      transport: { memory: { broker } },
      controllers: [CrashingAgent],
      logger,
      listen: false,
    });
    closers.push(() => app.close());
    await app.listen();
    const caller = new BusClient(new MemoryTransport({ broker }), { agentId: 'caller', logger: new RecordingLogger() });
    closers.push(() => caller.close());
    await caller.connect();
    const failed = deferred<BusError>();
    caller.invoke('crash.piped', {}).then(
      () => failed.reject(new Error('resolved')),
      (e: BusError) => failed.resolve(e),
    );
    const err = await failed.promise;
    const id = /error id ([0-9a-f-]{36})/.exec(err.message)?.[1];
    assert.ok(id, err.message);
    assert.doesNotMatch(err.message, /hunter2/);
    const line = await logger.waitFor(/hunter2/);
    assert.match(line, new RegExp(`error id ${id}`));
    // Settle any other logging of the same failure, then count.
    await new Promise((r) => setImmediate(r));
    const mentions = logger.lines.filter((l) => /db down/.test(l.text));
    assert.equal(mentions.length, 1, JSON.stringify(mentions, null, 1));
  });
});
