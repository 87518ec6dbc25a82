import 'reflect-metadata';
import { Controller, type INestMicroservice } from '@nestjs/common';
import { IsInt, IsOptional, IsString, Min, MinLength } from 'class-validator';
import { BusError, ErrorCodes, Invoke, Payload, Stream, type BusTransportConfig, type DiscoveryOptions } from '@openagentio/nestjs';
import { startNestBusApp } from '../support/nest-bus-app.js';

/** The payload of `orders.create`: its class-validator decorators are what discovery shows as the input schema. */
export class CreateOrderDto {
  @IsString()
  @MinLength(1)
  sku!: string;

  @IsInt()
  @Min(1)
  quantity!: number;

  @IsOptional()
  @IsString()
  note?: string;
}

/** Every call a handler of one app took, by payload id: what "handled exactly once" is counted on. */
export class HandlerLog {
  readonly counted = new Map<number, number>();
  total = 0;
}

/**
 * A small agent for the discovery tests: an invoke target with a DTO, description and tags; a stream target; a
 * target that fails on request (for STATS errors); and one that counts every call it takes.
 */
@Controller()
export class OrdersAgent {
  constructor(private readonly log: HandlerLog) {}

  @Invoke('orders.create', { description: 'Creates an order', tags: ['orders', 'write'] })
  create(@Payload() order: CreateOrderDto) {
    return { accepted: order.sku };
  }

  @Stream('orders.feed', { description: 'Order updates as they happen' })
  async *feed() {
    yield 'created ';
    yield 'shipped';
  }

  @Invoke('orders.check')
  check(@Payload() p: { fail?: boolean }) {
    if (p?.fail) throw new BusError(ErrorCodes.INVALID_REQUEST, 'order 7 is over the credit limit');
    return { ok: true };
  }

  @Invoke('orders.count')
  count(@Payload() p: { n: number }) {
    this.log.counted.set(p.n, (this.log.counted.get(p.n) ?? 0) + 1);
    this.log.total++;
    return p.n;
  }
}

/** A second agent, with a target of its own. */
@Controller()
export class BillingAgent {
  @Invoke('billing.charge', { description: 'Charges an order' })
  charge(@Payload() p: { cents: number }) {
    return { charged: p?.cents };
  }
}

export interface OrdersAppOptions {
  agentId?: string;
  transport: BusTransportConfig;
  discovery?: boolean | DiscoveryOptions;
  /** Default: the orders agent. */
  controllers?: Array<typeof OrdersAgent | typeof BillingAgent>;
}

/** Boots the agent as a bus-only Nest app (one replica; call it twice for two). */
export async function startOrdersApp(o: OrdersAppOptions): Promise<INestMicroservice> {
  return startNestBusApp({
    agentId: o.agentId ?? 'shop.orders',
    transport: o.transport,
    bus: { discovery: o.discovery },
    controllers: o.controllers ?? [OrdersAgent],
    providers: [HandlerLog],
  });
}
