import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Controller,
  Injectable,
  UseGuards,
  UsePipes,
  ValidationPipe,
  type CanActivate,
  type ExecutionContext,
  type Type,
} from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import { IsInt, Min } from 'class-validator';
import { NEVER, Observable, of } from 'rxjs';
import { BusClient, BusClientProxy, BusRpcContext, BusServer, MemoryBroker, patternToTarget, type BusError } from '@openagentio/nestjs';
import { deferred } from '../support/bus-fixture.js';
import { startNestBusApp } from '../support/nest-bus-app.js';

class Order {
  @IsInt()
  @Min(1)
  qty!: number;
}

@Injectable()
class OnlyTenantA implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToRpc().getContext<BusRpcContext>().getSession().tenant_id === 'a';
  }
}

const aborted = deferred<unknown>();
const started = deferred<void>();

@Controller()
class LegacyController {
  @MessagePattern('legacy.echo')
  echo(@Payload() p: unknown, @Ctx() ctx: BusRpcContext) {
    return { p, target: ctx.getTarget(), session: ctx.getSession().session_id };
  }

  @MessagePattern('legacy.letters')
  letters(): Observable<string> {
    return of('a', 'b', 'c');
  }

  @MessagePattern({ cmd: 'sum', role: 'math' })
  sum(@Payload() n: number[]) {
    return n.reduce((a, b) => a + b, 0);
  }

  @UseGuards(OnlyTenantA)
  @MessagePattern('legacy.guarded')
  guarded() {
    return 'secret';
  }

  @UsePipes(new ValidationPipe())
  @MessagePattern('legacy.order')
  order(@Payload() o: Order) {
    return o.qty * 2;
  }

  @MessagePattern('legacy.forever')
  forever(@Ctx() ctx: BusRpcContext): Observable<never> {
    ctx.getSignal().addEventListener('abort', () => aborted.resolve(ctx.getSignal().reason));
    started.resolve();
    return NEVER;
  }

  @MessagePattern('only.for.nats', Transport.NATS)
  natsOnly() {
    return 'not on the bus';
  }
}

function boot(broker: MemoryBroker, controllers: Type[] = [LegacyController]) {
  return startNestBusApp({ agentId: 'legacy', transport: { memory: { broker } }, controllers });
}

describe('@MessagePattern and @EventPattern on the bus', () => {
  it('serves message patterns: invoke gets the value, stream gets each Observable value, @Ctx is the bus context', async () => {
    const app = await boot(new MemoryBroker());
    const bus = app.get(BusClient);
    try {
      assert.deepEqual(await bus.invoke('legacy.echo', { x: 1 }, { session_id: 's-1' }), {
        p: { x: 1 },
        target: 'legacy.echo',
        session: 's-1',
      });
      const deltas: unknown[] = [];
      const s = bus.stream('legacy.letters');
      for await (const f of s) if (f.event_type === 'agent.response.delta') deltas.push((f.payload as { data: unknown }).data);
      assert.deepEqual(deltas, ['a', 'b', 'c']);
      assert.equal(await bus.invoke('legacy.letters'), 'c', 'invoke of an Observable reply: its last value');
      assert.equal(await bus.invoke('cmd.sum.role.math', [1, 2, 3]), 6, 'object pattern: sorted keys and values as tokens');
      assert.deepEqual(
        app
          .get(BusServer)
          .patternHandlers.map((p) => p.target)
          .sort(),
        ['cmd.sum.role.math', 'legacy.echo', 'legacy.forever', 'legacy.guarded', 'legacy.letters', 'legacy.order'],
      );
    } finally {
      await app.close();
    }
  });

  it('guards and pipes apply; a pattern bound to Transport.NATS is not served here', async () => {
    const app = await boot(new MemoryBroker());
    const bus = app.get(BusClient);
    try {
      assert.equal(await bus.invoke('legacy.guarded', {}, { tenant_id: 'a' }), 'secret');
      await assert.rejects(bus.invoke('legacy.guarded', {}, { tenant_id: 'b' }), (e: BusError) => e.code === 'AUTH_FAILURE');
      assert.equal(await bus.invoke('legacy.order', { qty: 2 }), 4);
      await assert.rejects(
        bus.invoke('legacy.order', { qty: 0 }),
        (e: BusError) => e.code === 'AGENT_UNAVAILABLE' || e.code === 'INVALID_REQUEST',
      );
      await assert.rejects(bus.invoke('only.for.nats', {}), (e: BusError) => e.code === 'NO_HANDLER');
    } finally {
      await app.close();
    }
  });

  it('BusClientProxy: unsubscribing from send cancels the handler through the bus', async () => {
    const broker = new MemoryBroker();
    const app = await boot(broker);
    const client = new BusClientProxy({ transport: { memory: { broker } } });
    try {
      const sub = client.send('legacy.forever', {}).subscribe({ error: () => undefined });
      await started.promise;
      sub.unsubscribe();
      const reason = (await aborted.promise) as BusError;
      assert.equal(reason.code, 'AGENT_UNAVAILABLE');
      assert.match(reason.message, /cancelled/);
    } finally {
      await client.close();
      await app.close();
    }
  });

  it('an @EventPattern with two handlers runs both; a pattern with no bus name fails bootstrap, naming it', async () => {
    const seen: string[] = [];
    const both = deferred<void>();
    @Controller()
    class Listener {
      @EventPattern('stock.low')
      a(@Payload() p: { sku: string }) {
        seen.push(`a:${p.sku}`);
        if (seen.length === 2) both.resolve();
      }
      @EventPattern('stock.low')
      b(@Payload() p: { sku: string }) {
        seen.push(`b:${p.sku}`);
        if (seen.length === 2) both.resolve();
      }
    }
    const app = await boot(new MemoryBroker(), [Listener]);
    try {
      await app.get(BusClient).publish('stock.low', { sku: 'x1' });
      await both.promise;
      assert.deepEqual(seen.sort(), ['a:x1', 'b:x1']);
    } finally {
      await app.close();
    }

    @Controller()
    class Bad {
      @MessagePattern('has space')
      bad() {
        return 1;
      }
    }
    await assert.rejects(boot(new MemoryBroker(), [Bad]), /message pattern has space has no bus name: .*white space/);
    assert.throws(() => patternToTarget('{"cmd":{"nested":1}}'), /not a string or number/);
    assert.throws(() => patternToTarget('{"cmd":"a.b"}'), /must not contain dots/);
  });
});
