import { Injectable, type INestApplication } from '@nestjs/common';
import { BusClient, MemoryBroker, MemoryTransport, Task, TaskContext, TasksModule } from '@openagentio/nestjs';
import type { GatewayModuleOptions } from '@openagentio/nestjs-gateway';
import { deferred } from '../support/bus-fixture.js';
import { gatewayApp } from '../gateway/gateway-app.js';
import { quietLogger } from '../mcp/helpers.js';

/** Two tenants' bearer tokens. */
export const ACME = 'token-acme';
export const GLOBEX = 'token-globex';
export const AUTH: GatewayModuleOptions['auth'] = {
  bearerTokens: { [ACME]: { tenant_id: 'acme', user_id: 'ann' }, [GLOBEX]: { tenant_id: 'globex', user_id: 'bob' } },
};

/** What a content of more input may be: a string, `{text}` (A2A text parts), `{quarter}`. */
function quarterOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const o = v as { quarter?: unknown; text?: unknown };
    if (typeof o.quarter === 'string') return o.quarter;
    if (typeof o.text === 'string') return o.text;
  }
  return undefined;
}

/**
 * Task handlers for the gateway tests. `report.build` emits status, an artifact in two chunks and a result, and
 * waits at a gate (`input.gate`) between the chunks when asked; `slow.job` runs until cancelled; `ask.quarter`
 * asks for input when it has no quarter.
 */
@Injectable()
export class ReportAgent {
  private readonly gates = new Map<string, ReturnType<typeof deferred<void>>>();
  readonly slowStarted = new Map<string, ReturnType<typeof deferred<void>>>();
  readonly aborted: string[] = [];

  gate(name: string): ReturnType<typeof deferred<void>> {
    let g = this.gates.get(name);
    if (!g) this.gates.set(name, (g = deferred<void>()));
    return g;
  }

  started(key: string): Promise<void> {
    let d = this.slowStarted.get(key);
    if (!d) this.slowStarted.set(key, (d = deferred<void>()));
    return d.promise;
  }

  @Task('report.build')
  async build(input: { quarter?: string; gate?: string } | null, ctx: TaskContext) {
    const quarter = quarterOf(input) ?? 'Q?';
    await ctx.status(`collecting ${quarter}`);
    await ctx.artifact({ artifact_id: 'md', name: 'report.md', data: `# ${quarter}\n` });
    if (input?.gate) await this.gate(input.gate).promise;
    await ctx.artifact({ artifact_id: 'md', data: 'done\n', append: true, last_chunk: true });
    return { quarter, pages: 3, session: ctx.task.session_id ?? null, tenant: ctx.task.tenant_id ?? null };
  }

  @Task('slow.job', { concurrency: 4 })
  slow(input: { key?: string } | null, ctx: TaskContext) {
    const key = input?.key ?? ctx.task.id;
    void this.started(key);
    this.slowStarted.get(key)!.resolve();
    return new Promise((_, reject) =>
      ctx.signal.addEventListener('abort', () => {
        this.aborted.push(ctx.task.id);
        reject(ctx.signal.reason);
      }),
    );
  }

  /** Fails at once (an unexpected error: the task ends `failed` with an internal-error message). */
  @Task('fail.job', { maxAttempts: 1 })
  fail(): never {
    throw new Error('the ledger is locked');
  }

  @Task('ask.quarter')
  ask(input: unknown, ctx: TaskContext) {
    const quarter = quarterOf(input) ?? quarterOf(ctx.lastInput);
    if (!quarter) return ctx.inputRequired('Which quarter?');
    return `report for ${quarter}`;
  }
}

export interface TaskGateway {
  app: INestApplication;
  url: string;
  bus: BusClient;
  agent: ReportAgent;
  close(): Promise<void>;
}

/** A gateway over a memory bus with TasksModule (memory store) and ReportAgent's task handlers. */
export async function taskGateway(options: Partial<GatewayModuleOptions> = {}): Promise<TaskGateway> {
  const bus = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), { agentId: 'gw', logger: quietLogger });
  await bus.connect();
  const { app, url } = await gatewayApp(
    bus,
    { taskTargets: ['report.*', 'slow.job', 'ask.quarter'], auth: AUTH, ...options },
    { imports: [TasksModule.forRoot({ store: 'memory' })], providers: [ReportAgent] },
  );
  return {
    app,
    url,
    bus,
    agent: app.get(ReportAgent),
    async close() {
      await app.close();
      await bus.close();
    },
  };
}

/** One HTTP call with a bearer token; the body as JSON (a string is sent as is). */
export async function http(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  }
  const res = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
