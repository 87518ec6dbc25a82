import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BusClient, NatsTransport, type BusLogger } from '@openagentio/nestjs';
import { childMessage } from '../lib/child-message.js';

const RESPONDER = fileURLToPath(new URL('../split-responder.js', import.meta.url));
const quiet: BusLogger = { log() {}, warn() {}, error() {} };

/** Our caller in this process and our responder (echo, stream) in a forked one, as two agents run in production. */
export interface SplitBus {
  client: BusClient;
  close(): Promise<void>;
}

/**
 * Forks bench/split-responder.js as a bus responder under `subjectPrefix` (so it shares no subjects or queue
 * groups with the bench's in-process stacks on the same server) and connects a caller bus with the same prefix.
 */
export async function startSplitBus(url: string, subjectPrefix: string): Promise<SplitBus> {
  const child = fork(RESPONDER, ['bus', url, subjectPrefix], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await childMessage(child, (m) => m === 'ready', 'split responder ready');
    const client = new BusClient(new NatsTransport({ servers: url, name: 'split-bus-caller', warnOpenAccount: false }), {
      agentId: 'bench-client',
      subjectPrefix,
      logger: quiet,
    });
    await client.connect();
    return {
      client,
      close: async () => {
        await client.close().catch(() => undefined);
        child.kill('SIGKILL');
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}
