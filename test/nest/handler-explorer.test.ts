import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Controller, Injectable, Module, Scope } from '@nestjs/common';
import { ExternalContextCreator, NestFactory } from '@nestjs/core';
import { BusModule, Invoke, MemoryBroker, MemoryTransport, Stream, Subscribe, Task, TasksModule } from '@openagentio/nestjs';
import { BUS_HANDLER_METADATA, TASK_HANDLER_METADATA } from '@openagentio/nestjs/internal/constants.js';
import { nestInternalsProblems } from '@openagentio/nestjs/internal/server/nest-internals.js';
import { startNestBusApp } from '../support/nest-bus-app.js';

const memoryBus = (agentId: string) => BusModule.forRoot({ agentId, transport: new MemoryTransport({ broker: new MemoryBroker() }) });

describe("Nest's internals, as this package uses them", () => {
  it('the installed Nest has every private part the bus server relies on', async () => {
    @Module({ imports: [memoryBus('internals')] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      assert.deepEqual(nestInternalsProblems(app.get(ExternalContextCreator)), []);
    } finally {
      await app.close();
    }
  });

  it('names each part a creator lacks (what a Nest upgrade that breaks one would show)', () => {
    const problems = nestInternalsProblems({} as ExternalContextCreator);
    for (const part of [
      'filtersContextCreator.create()',
      'guardsContextCreator.create()',
      'getMetadata()',
      'getContextModuleKey()',
      'modulesContainer',
    ]) {
      assert.ok(
        problems.some((p) => p.includes(part)),
        `${part} missing from ${problems.join('; ')}`,
      );
    }
  });
});

describe('handler decorators: one factory, one explorer, one scope rule', () => {
  class Handlers {
    @Invoke('x.ask', { concurrency: 2 })
    ask(): void {}
    @Stream('x.write')
    write(): void {}
    @Subscribe('x.*', { queue: 'q' })
    hear(): void {}
    @Task('x.job', { maxAttempts: 2 })
    job(): void {}
  }

  it('each records { kind, name, options } under its key in constants.ts', () => {
    const p = Handlers.prototype;
    assert.deepEqual(Reflect.getMetadata(BUS_HANDLER_METADATA, p.ask), { kind: 'invoke', name: 'x.ask', options: { concurrency: 2 } });
    assert.deepEqual(Reflect.getMetadata(BUS_HANDLER_METADATA, p.write), { kind: 'stream', name: 'x.write', options: {} });
    assert.deepEqual(Reflect.getMetadata(BUS_HANDLER_METADATA, p.hear), { kind: 'subscribe', name: 'x.*', options: { queue: 'q' } });
    assert.deepEqual(Reflect.getMetadata(TASK_HANDLER_METADATA, p.job), { kind: 'task', name: 'x.job', options: { maxAttempts: 2 } });
  });

  it('an @Invoke in a request-scoped class is refused when the server starts, naming it', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @Invoke('scoped.ask')
      ask(): string {
        return 'never';
      }
    }
    const app = await startNestBusApp({ agentId: 'scoped-invoke', providers: [PerRequest], listen: false });
    try {
      await assert.rejects(app.listen(), (err: Error) => {
        assert.match(err.message, /PerRequest\.ask \(@Invoke\('scoped\.ask'\)\): handlers must live in singleton-scoped classes/);
        return true;
      });
    } finally {
      await app.close();
    }
  });

  it('a @Task in a request-scoped class is refused at bootstrap by the same rule (it was skipped in silence)', async () => {
    @Controller({ scope: Scope.REQUEST })
    class PerRequestTasks {
      @Task('scoped.job')
      job(): string {
        return 'never';
      }
    }
    @Module({ imports: [memoryBus('scoped-task'), TasksModule.forRoot({ store: 'memory' })], controllers: [PerRequestTasks] })
    class AppModule {}
    // createApplicationContext runs bootstrap, where TasksModule's explorer looks for @Task methods.
    await assert.rejects(
      NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false }),
      /PerRequestTasks\.job \(@Task\('scoped\.job'\)\): handlers must live in singleton-scoped classes/,
    );
  });
});
