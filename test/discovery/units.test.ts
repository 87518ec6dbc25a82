import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusClient, BusError, MemoryBroker, MemoryTransport } from '@openagentio/nestjs';
import { serviceNameOf } from '@openagentio/nestjs/internal/discovery/service-name.js';
import { EndpointCounters } from '@openagentio/nestjs/internal/discovery/endpoint-counters.js';
import { LocalService } from '@openagentio/nestjs/internal/discovery/local-service.js';
import { resolveDiscovery } from '@openagentio/nestjs/internal/discovery/resolve-discovery.js';
import type { ServedEndpoint } from '@openagentio/nestjs/internal/discovery/served-endpoint.js';
import { quietLogger } from '../mcp/helpers.js';

describe('discovery units', () => {
  it('maps agent ids and targets to ADR-32 names: everything outside [A-Za-z0-9_-] becomes _', () => {
    assert.equal(serviceNameOf('billing.invoices'), 'billing_invoices');
    assert.equal(serviceNameOf('writer'), 'writer');
    assert.equal(serviceNameOf('a-b_c.d:e'), 'a-b_c_d_e');
  });

  it('resolves the options: defaults, metadata, and names natscli would drop refused at construction', () => {
    const r = resolveDiscovery(true, { agentId: 'shop.orders', tenant: 'acme', subjectPrefix: 'acp.v1' })!;
    assert.equal(r.name, 'shop_orders');
    assert.equal(r.version, '0.0.0');
    assert.match(r.id, /^[A-Za-z0-9]{22}$/);
    assert.deepEqual(r.metadata, {
      'acp.agent_id': 'shop.orders',
      'acp.spec_version': 'acp/1.0',
      'acp.subject_prefix': 'acp.v1',
      'acp.tenant': 'acme',
    });
    assert.equal(resolveDiscovery(false, { agentId: 'a', subjectPrefix: 'acp.v1' }), undefined);
    assert.equal(resolveDiscovery({ enabled: false }, { agentId: 'a', subjectPrefix: 'acp.v1' }), undefined);
    assert.throws(() => resolveDiscovery({ version: '1.0' }, { agentId: 'a', subjectPrefix: 'acp.v1' }), /not a semantic version/);
    assert.throws(() => resolveDiscovery({ name: 'a.b' }, { agentId: 'a', subjectPrefix: 'acp.v1' }), /letters, digits/);
  });

  it('gives two targets that map to one name unique endpoint names', () => {
    const ep = (target: string): ServedEndpoint => ({
      target,
      kind: 'invoke',
      subject: `acp.v1.invoke.${target}`,
      queue: target,
      about: {},
    });
    const eps = [ep('a.b'), ep('a_b'), ep('c')];
    const service = new LocalService({ name: 's', id: 'i', version: '1.0.0', description: '', metadata: {} }, () => eps, undefined);
    assert.deepEqual(
      service.info().endpoints.map((e) => [e.name, e.subject]),
      [
        ['a_b', 'acp.v1.invoke.a.b'],
        ['a_b_2', 'acp.v1.invoke.a_b'],
        ['c', 'acp.v1.invoke.c'],
      ],
    );
    // Names stay put when the set changes.
    eps.shift();
    assert.deepEqual(
      service.info().endpoints.map((e) => e.name),
      ['a_b_2', 'c'],
    );
  });

  it('counts processing time exactly while every request is timed, and scales up the sampled ones after that', () => {
    const c = new EndpointCounters();
    for (let i = 0; i < 4; i++) c.record(0.5);
    c.record(1, new BusError('INVALID_REQUEST', 'no'));
    assert.equal(c.processingMs, 3);
    assert.equal(c.lastError, 'INVALID_REQUEST: no');
    const sampled = new EndpointCounters();
    let timed = 0;
    for (let i = 0; i < 10_000; i++) {
      const t = sampled.sampleNext;
      if (t) timed++;
      sampled.record(t ? 2 : undefined);
    }
    assert.ok(timed < 1000, `${timed} of 10,000 timed`);
    assert.equal(sampled.processingMs, 20_000);
  });

  it('off (the memory default): no service, no counters on the registrations', async () => {
    const bus = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), { agentId: 'quiet', logger: quietLogger });
    await bus.connect();
    bus.handleInvoke('quiet.x', () => 1, { description: 'kept for bus.served all the same' });
    assert.equal(bus.service, undefined);
    assert.equal(bus.options.discovery, undefined);
    assert.equal(bus.served[0].counters, undefined);
    assert.equal(bus.served[0].about.description, 'kept for bus.served all the same');
    await bus.close();
  });
});
