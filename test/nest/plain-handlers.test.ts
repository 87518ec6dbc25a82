import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BadRequestException,
  Catch,
  Controller,
  Injectable,
  UseFilters,
  UseGuards,
  UsePipes,
  ValidationPipe,
  type ArgumentsHost,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestMicroservice,
} from '@nestjs/common';
import { of, throwError } from 'rxjs';
import {
  BusClient,
  BusError,
  BusRpcContext,
  BusServer,
  Ctx,
  Envelope,
  Invoke,
  MemoryBroker,
  MemoryTransport,
  Payload,
  Session,
  Signal,
  Subscribe,
  type SessionInfo,
} from '@openagentio/nestjs';
import { deferred, RecordingLogger } from '../support/bus-fixture.js';
import { startNestBusApp } from '../support/nest-bus-app.js';

// Handlers with no guard, interceptor or pipe skip Nest's pipeline (BusServer's `plain` handlers): the same
// arguments, results and exception filters, without its promises. Over the in-memory direct path here (the test
// runner validates every memory transport unless told otherwise; validate: false is how apps run).

class DomainError extends Error {}
class TeapotError extends Error {}

@Catch(DomainError)
class DomainErrorFilter implements ExceptionFilter {
  catch(error: DomainError): never {
    throw new BusError('INVALID_REQUEST', `shaped by method filter: ${error.message}`);
  }
}

@Catch(TeapotError)
class GlobalTeapotFilter implements ExceptionFilter {
  catch(error: TeapotError, host: ArgumentsHost) {
    const rpc = host.switchToRpc().getContext<BusRpcContext>();
    // An RPC filter may answer with an Observable that errors.
    return throwError(() => new BusError('CONFLICT' as never, `teapot on ${rpc.getTarget()}: ${error.message}`));
  }
}

@Injectable()
class DenyAll implements CanActivate {
  canActivate(_ctx: ExecutionContext): boolean {
    return false;
  }
}

const event = deferred<{ payload: unknown; from?: string }>();

@Controller()
class PlainAgent {
  @Invoke('plain.args')
  args(
    @Payload('city') city: string,
    @Session() s: SessionInfo,
    @Envelope() env: Envelope,
    @Signal() signal: AbortSignal,
    @Ctx() ctx: BusRpcContext,
  ) {
    return {
      city,
      session: s.session_id,
      from: env.from,
      signal: signal instanceof AbortSignal && !signal.aborted,
      target: ctx.getTarget(),
    };
  }

  @Invoke('plain.noargs')
  noArgs(payload: unknown, ctx: BusRpcContext) {
    return { payload, target: ctx.getTarget() };
  }

  @Invoke('plain.async')
  async later(@Payload() p: { n: number }) {
    await new Promise((r) => setImmediate(r));
    return p.n + 1;
  }

  @Invoke('plain.observable')
  observable() {
    return of(1, 2, 3);
  }

  @Invoke('plain.method-filter')
  @UseFilters(DomainErrorFilter)
  methodFilter() {
    throw new DomainError('no such city');
  }

  @Invoke('plain.async-method-filter')
  @UseFilters(DomainErrorFilter)
  async asyncMethodFilter() {
    await Promise.resolve();
    throw new DomainError('later');
  }

  @Invoke('plain.global-filter')
  globalFilter() {
    throw new TeapotError('short and stout');
  }

  @Invoke('plain.http-exception')
  httpException() {
    throw new BadRequestException('days must be positive');
  }

  @Invoke('plain.crash')
  crash() {
    throw new Error('boom');
  }

  @Invoke('nest.guarded')
  @UseGuards(DenyAll)
  guarded() {
    return 'never';
  }

  @Invoke('nest.piped')
  @UsePipes(new ValidationPipe())
  piped(@Payload() p: unknown) {
    return p;
  }

  @Subscribe('plain.happened')
  happened(@Payload() payload: unknown, @Envelope() env: Envelope) {
    event.resolve({ payload, from: env.from });
  }
}

describe('NestJS handlers without enhancers (plain pipeline)', () => {
  const broker = new MemoryBroker();
  let app: INestMicroservice;
  let caller: BusClient;

  before(async () => {
    app = await startNestBusApp({
      agentId: 'plain',
      transport: { memory: { broker, validate: false } },
      controllers: [PlainAgent],
      providers: [DenyAll],
      configure: (a) => a.useGlobalFilters(new GlobalTeapotFilter()),
    });
    caller = new BusClient(new MemoryTransport({ broker, validate: false }), { agentId: 'client', logger: new RecordingLogger() });
    await caller.connect();
  });

  after(async () => {
    await caller.close();
    await app.close();
  });

  it('takes the plain pipeline only where no guard, interceptor or pipe applies', () => {
    const pipelines = Object.fromEntries(app.get(BusServer).handlers.map((h) => [h.name, h.pipeline]));
    assert.deepEqual(pipelines, {
      'plain.args': 'plain',
      'plain.noargs': 'plain',
      'plain.async': 'plain',
      'plain.observable': 'plain',
      'plain.method-filter': 'plain',
      'plain.async-method-filter': 'plain',
      'plain.global-filter': 'plain',
      'plain.http-exception': 'plain',
      'plain.crash': 'plain',
      'nest.guarded': 'nest',
      'nest.piped': 'nest',
      'plain.happened': 'plain',
    });
  });

  it('resolves @Payload(property), @Session, @Envelope, @Signal and @Ctx as the pipeline does', async () => {
    const r = await caller.invoke('plain.args', { city: 'Oslo' }, { session_id: 's-9' });
    assert.deepEqual(r, { city: 'Oslo', session: 's-9', from: 'client', signal: true, target: 'plain.args' });
    assert.ok(caller.stats.directCalls > 0, 'in-process direct call');
  });

  it('a method without parameter decorators gets (payload, context)', async () => {
    assert.deepEqual(await caller.invoke('plain.noargs', { a: 1 }), { payload: { a: 1 }, target: 'plain.noargs' });
  });

  it('awaits a promise and takes the last value of an Observable', async () => {
    assert.equal(await caller.invoke('plain.async', { n: 41 }), 42);
    assert.equal(await caller.invoke('plain.observable'), 3);
  });

  it('method filters shape synchronous and asynchronous exceptions', async () => {
    await assert.rejects(
      caller.invoke('plain.method-filter'),
      (e: BusError) => e.code === 'INVALID_REQUEST' && e.message === 'shaped by method filter: no such city',
    );
    await assert.rejects(
      caller.invoke('plain.async-method-filter'),
      (e: BusError) => e.code === 'INVALID_REQUEST' && e.message === 'shaped by method filter: later',
    );
  });

  it('global filters apply, including one that answers with an erroring Observable', async () => {
    await assert.rejects(
      caller.invoke('plain.global-filter'),
      (e: BusError) => e.message === 'teapot on plain.global-filter: short and stout',
    );
  });

  it('unfiltered exceptions map as on the pipeline: HttpException by status, anything else AGENT_UNAVAILABLE', async () => {
    await assert.rejects(
      caller.invoke('plain.http-exception'),
      (e: BusError) => e.code === 'INVALID_REQUEST' && /days must be positive/.test(e.message),
    );
    await assert.rejects(
      caller.invoke('plain.crash'),
      (e: BusError) => e.code === 'AGENT_UNAVAILABLE' && /^internal error \(error id /.test(e.message),
    );
  });

  it('guards and pipes still run where they are declared', async () => {
    await assert.rejects(caller.invoke('nest.guarded'), (e: BusError) => e.code === 'AUTH_FAILURE');
    assert.deepEqual(await caller.invoke('nest.piped', { x: 1 }), { x: 1 });
  });

  it('@Subscribe handlers get the event payload and envelope', async () => {
    await caller.publish('plain.happened', { n: 1 });
    assert.deepEqual(await event.promise, { payload: { n: 1 }, from: 'client' });
  });
});
