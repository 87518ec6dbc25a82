import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import type { InvokeStack } from './types.js';

/**
 * Raw NATS carrying the bytes of acp/1.0 envelopes (the fields and order ours write, a fresh id and time per
 * message) with none of our code: how fast any acp/1.0 peer on this client could go, the floor under our figures.
 */

/** The subject the raw envelope responder of the split-process figures answers on (bench/split-responder.ts). */
export const RAW_ENV_SPLIT_SUBJECT = 'bench.rawenv.split.echo';

/** An event as our publisher writes it (bench.events from bench-client). */
export function eventEnvelope(payload: unknown): Record<string, unknown> {
  const e = head('bench.events');
  e.from = 'bench-client';
  e.payload = payload;
  return e;
}

/**
 * The fields every envelope starts with, in our wire order (versions, a fresh id, the type, the time); the rest is
 * added field by field, as our envelope factory does, so the floor makes no object more than ours.
 */
function head(eventType: string): Record<string, unknown> {
  return {
    spec_version: 'acp/1.0',
    schema_version: 1,
    event_id: randomUUID(),
    event_type: eventType,
    occurred_at: new Date().toISOString(),
  };
}

/** A request as our caller writes it to bench.echo (its reply_to is the NATS request's own inbox, of the same length). */
export function requestEnvelope(payload: unknown): Record<string, unknown> {
  const e = head('agent.message.received');
  e.frame_type = 'request';
  e.from = 'bench-client';
  e.to = 'bench.echo';
  e.reply_to = '_INBOX.3dLZwGEpoEVlWdB8UrBZu2.0';
  e.payload = payload;
  e.metadata = { 'acp.ext': 'nohandler,deadline,cancel,flow,chunk,trace', 'acp.deadline': Date.now() + 30_000 };
  return e;
}

/** The final reply our responder writes to such a request. */
export function replyEnvelope(request: Record<string, unknown>): Record<string, unknown> {
  const e = head('agent.response.final');
  e.frame_type = 'response.final';
  e.correlation_id = request.event_id;
  e.from = 'bench-server';
  e.to = request.from;
  e.is_final = true;
  e.payload = { result: request.payload };
  e.metadata = { 'acp.ext': 'chunk,cancel', 'acp.liveness': 5000 };
  return e;
}

/** The caller half: nc.request() of a request envelope, the reply parsed and its result returned. */
export async function rawEnvelopeCaller(url: string, subject: string): Promise<InvokeStack> {
  const client = await connect({ servers: url, name: 'bench-rawenv-requester' });
  return {
    name: 'raw nc.request(), acp/1.0 bytes',
    invoke: async (payload) => {
      const reply = (await client.request(subject, JSON.stringify(requestEnvelope(payload)), { timeout: 10_000 })).json<{
        payload: { result: unknown };
      }>();
      return reply.payload.result;
    },
    close: () => client.close(),
  };
}
