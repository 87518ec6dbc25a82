import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Catch,
  Controller,
  Injectable,
  Module,
  UseFilters,
  UseGuards,
  UseInterceptors,
  ValidationPipe,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestMicroservice,
  type NestInterceptor,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { map, Observable, of } from 'rxjs';
import {
  BusClient,
  BusError,
  BusModule,
  BusRpcContext,
  BusSession,
  Envelope,
  Invoke,
  MemoryBroker,
  MemoryTransport,
  Payload,
  Session,
  Signal,
  Stream,
  Subscribe,
  Writer,
  busMicroservice,
  type SessionInfo,
  type StreamWriter,
} from '@openagentio/nestjs';
import { deferred, RecordingLogger, until } from '../support/bus-fixture.js';
import { startNestBusApp } from '../support/nest-bus-app.js';

class ForecastQuery {
  @IsString()
  city!: string;

  @IsInt()
  @Min(1)
  @Max(14)
  days!: number;
}

class DomainError extends Error {}

@Catch(DomainError)
class DomainErrorFilter implements ExceptionFilter {
  catch(error: DomainError): never {
    throw new BusError('INVALID_REQUEST', `shaped by filter: ${error.message}`, { cause: { filter: 'DomainErrorFilter' } });
  }
}

@Injectable()
class TenantGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    return ctx.switchToRpc().getContext<BusRpcContext>().getSession().tenant_id === 'acme';
  }
}

@Injectable()
class WrapInterceptor implements NestInterceptor {
  intercept(_ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((v) => ({ wrapped: v })));
  }
}

@Injectable()
class UpperInterceptor implements NestInterceptor {
  intercept(_ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((v) => (typeof v === 'string' ? v.toUpperCase() : v)));
  }
}

/** A service deep in the call stack that reads the session without parameters. */
@Injectable()
class AuditService {
  constructor(private readonly session: BusSession) {}
  who(): string {
    return `${this.session.sessionId}/${this.session.userId}/${this.session.target}`;
  }
}

const flood = { produced: 0 };
const events: Array<{ type: string; session?: string; payload: unknown }> = [];
const aborted = deferred<unknown>();
const cancelStarted = deferred<void>();

@Controller()
class WeatherAgent {
  constructor(private readonly audit: AuditService) {}

  @Invoke('nest.forecast')
  forecast(@Payload() q: ForecastQuery, @Session() s: SessionInfo, @Envelope() env: Envelope) {
    assert.ok(q instanceof ForecastQuery, 'ValidationPipe transform gives a DTO instance');
    return { city: q.city, days: q.days, session: s.session_id, request_from: env.from, audit: this.audit.who() };
  }

  @Invoke('nest.guarded')
  @UseGuards(TenantGuard)
  guarded() {
    return 'secret';
  }

  @Invoke('nest.domain')
  @UseFilters(DomainErrorFilter)
  domain() {
    throw new DomainError('city unknown');
  }

  @Invoke('nest.wrapped')
  @UseInterceptors(WrapInterceptor)
  wrapped(@Payload('n') n: number) {
    return n * 2;
  }

  @Invoke('nest.cancellable')
  cancellable(@Signal() signal: AbortSignal) {
    cancelStarted.resolve();
    return new Promise((_, reject) => signal.addEventListener('abort', () => (aborted.resolve(signal.reason), reject(signal.reason))));
  }

  @Stream('nest.gen')
  @UseInterceptors(UpperInterceptor)
  async *gen(@Payload() p: { words: string[] }) {
    for (const w of p.words) yield w;
    return 'done';
  }

  @Stream('nest.writer')
  @UseInterceptors(WrapInterceptor)
  async writer(@Writer() out: StreamWriter) {
    await out.delta('a');
    await out.delta('b');
    return 'ab';
  }

  @Stream('nest.observable')
  @UseInterceptors(UpperInterceptor)
  observable(): Observable<string> {
    return of('x', 'y');
  }

  @Stream('nest.flood')
  @UseInterceptors(UpperInterceptor)
  async *flood() {
    for (let i = 0; i < 100; i++) {
      flood.produced++;
      yield `w${i}`;
    }
  }

  @Stream('nest.stream-domain')
  @UseFilters(DomainErrorFilter)
  async *streamDomain() {
    yield 'partial';
    throw new DomainError('lost mid-stream');
  }

  @Subscribe('nest.events.>')
  onEvent(@Payload() payload: unknown, @Envelope() env: Envelope) {
    events.push({ type: env.event_type, session: env.session_id, payload });
  }
}

describe('NestJS integration (bus-only microservice)', () => {
  const broker = new MemoryBroker();
  let app: INestMicroservice;
  let caller: BusClient;

  before(async () => {
    app = await startNestBusApp({
      agentId: 'weather',
      transport: { memory: { broker, validate: true } },
      controllers: [WeatherAgent],
      providers: [AuditService, TenantGuard],
      configure: (a) => a.useGlobalPipes(new ValidationPipe({ transform: true })),
    });
    caller = new BusClient(new MemoryTransport({ broker, validate: true }), { agentId: 'client', logger: new RecordingLogger() });
    await caller.connect();
  });

  after(async () => {
    await caller.close();
    await app.close();
  });

  it('serves @Invoke with @Payload (DTO via ValidationPipe), @Session, @Envelope and BusSession deep in a service', async () => {
    const r = await caller.invoke('nest.forecast', { city: 'Oslo', days: 3 }, { session_id: 's-42', user_id: 'ada' });
    assert.deepEqual(r, { city: 'Oslo', days: 3, session: 's-42', request_from: 'client', audit: 's-42/ada/nest.forecast' });
  });

  it('ValidationPipe rejects bad payloads with INVALID_REQUEST listing the failing fields', async () => {
    await assert.rejects(caller.invoke('nest.forecast', { city: 7, days: 99 }), (e: BusError) => {
      assert.equal(e.code, 'INVALID_REQUEST');
      assert.deepEqual(e.details?.fields, ['city', 'days']);
      assert.match(e.message, /city must be a string/);
      return true;
    });
    await assert.rejects(caller.invoke('nest.forecast', 'not an object'), (e: BusError) => e.code === 'INVALID_REQUEST');
    await assert.rejects(caller.invoke('nest.forecast', null), (e: BusError) => e.code === 'INVALID_REQUEST');
    // and the bus keeps serving
    assert.equal((await caller.invoke<{ city: string }>('nest.forecast', { city: 'Rome', days: 1 })).city, 'Rome');
  });

  it("a guard's refusal is AUTH_FAILURE", async () => {
    await assert.rejects(
      caller.invoke('nest.guarded', {}, { tenant_id: 'evil' }),
      (e: BusError) => e.code === 'AUTH_FAILURE' && !e.retryable,
    );
    assert.equal(await caller.invoke('nest.guarded', {}, { tenant_id: 'acme' }), 'secret');
  });

  it('an exception filter shapes the error', async () => {
    await assert.rejects(caller.invoke('nest.domain'), (e: BusError) => {
      assert.equal(e.code, 'INVALID_REQUEST');
      assert.equal(e.message, 'shaped by filter: city unknown');
      assert.deepEqual(e.details, { filter: 'DomainErrorFilter' });
      return true;
    });
  });

  it('an exception filter also shapes an error a stream raises after it started', async () => {
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const f of caller.stream('nest.stream-domain')) seen.push(f.event_type);
      })(),
      (e: BusError) => e.code === 'INVALID_REQUEST' && e.message === 'shaped by filter: lost mid-stream',
    );
    assert.deepEqual(seen, ['agent.response.started', 'agent.response.delta']);
  });

  it('interceptors map the reply; @Payload(property) picks a field', async () => {
    assert.deepEqual(await caller.invoke('nest.wrapped', { n: 21 }), { wrapped: 42 });
  });

  it('@Stream: an async generator streams through interceptors that map every delta; the return value is final', async () => {
    const frames = [];
    for await (const f of caller.stream('nest.gen', { words: ['a', 'b'] })) frames.push(f);
    assert.deepEqual(
      frames.map((f) => f.event_type),
      ['agent.response.started', 'agent.response.delta', 'agent.response.delta', 'agent.response.final'],
    );
    assert.deepEqual(
      frames.slice(1).map((f) => f.payload),
      [{ delta: 'A' }, { delta: 'B' }, { result: 'done' }],
    );
  });

  it('@Stream with @Writer: the interceptor maps the final result, not the deltas', async () => {
    const frames = [];
    for await (const f of caller.stream('nest.writer')) frames.push(f);
    assert.deepEqual(
      frames.slice(1).map((f) => f.payload),
      [{ delta: 'a' }, { delta: 'b' }, { result: { wrapped: 'ab' } }],
    );
  });

  it('@Stream returning an Observable: values are deltas, the last value is the result', async () => {
    const frames = [];
    for await (const f of caller.stream('nest.observable')) frames.push(f);
    assert.deepEqual(
      frames.slice(1).map((f) => f.payload),
      [{ delta: 'X' }, { delta: 'Y' }, { result: 'Y' }],
    );
  });

  it('flow control holds through interceptors: a slow consumer stalls the generator', async () => {
    const s = caller.stream('nest.flood', {}, { window: 4 });
    const it = s[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.event_type, 'agent.response.started');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(flood.produced <= 8, `generator ran ${flood.produced} items ahead of a consumer with window 4`);
    const deltas: string[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) {
      if (r.value.event_type === 'agent.response.delta') deltas.push((r.value.payload as { delta: string }).delta);
    }
    assert.equal(deltas.length, 100);
    assert.equal(deltas[99], 'W99');
  });

  it('@Signal is aborted when the caller cancels', async () => {
    const ac = new AbortController();
    const call = caller.invoke('nest.cancellable', {}, { signal: ac.signal });
    await cancelStarted.promise;
    ac.abort('bye');
    await assert.rejects(call, /cancelled/);
    const reason = (await aborted.promise) as BusError;
    assert.equal(reason.code, 'AGENT_UNAVAILABLE');
  });

  it('@Subscribe receives matching events with their envelope', async () => {
    await caller.publish('nest.events.created', { id: 1 }, { session_id: 'ev-s' });
    await caller.publish('nest.other', { id: 2 });
    await caller.publish('nest.events.deep.updated', { id: 3 });
    await until(() => events.length === 2);
    assert.deepEqual(events, [
      { type: 'nest.events.created', session: 'ev-s', payload: { id: 1 } },
      { type: 'nest.events.deep.updated', session: undefined, payload: { id: 3 } },
    ]);
  });
});

describe('NestJS integration: module options and start-up errors', () => {
  it('forRootAsync builds the bus from a factory', async () => {
    const broker = new MemoryBroker();
    @Controller()
    class Pong {
      @Invoke('async.ping')
      ping() {
        return 'pong';
      }
    }
    @Module({
      imports: [BusModule.forRootAsync({ useFactory: async () => ({ agentId: 'from-factory', transport: { memory: { broker } } }) })],
      controllers: [Pong],
    })
    class AsyncModule {}
    const app = await NestFactory.createMicroservice(AsyncModule, { ...busMicroservice(), logger: false });
    await app.listen();
    const bus = app.get(BusClient);
    assert.equal(bus.agentId, 'from-factory');
    assert.equal(await bus.invoke('async.ping'), 'pong');
    await app.close();
    assert.equal(bus.isConnected, false, 'the module closes the bus on shutdown');
  });

  it('two handlers for one target are a clear start-up error', async () => {
    @Controller()
    class Dup1 {
      @Invoke('dup.target')
      a() {
        return 1;
      }
    }
    @Controller()
    class Dup2 {
      @Invoke('dup.target')
      b() {
        return 2;
      }
    }
    const app = await startNestBusApp({ agentId: 'dup', controllers: [Dup1, Dup2], listen: false });
    await assert.rejects(app.listen(), /dup\.target.*already has a handler/);
    await app.close();
  });

  it('decorators reject invalid targets and patterns when the class is defined', () => {
    assert.throws(() => Invoke('a b'), /white space/);
    assert.throws(() => Stream('a.*'), /wildcard/);
    assert.throws(() => Subscribe('a.>.b'), /last token/);
  });
});
