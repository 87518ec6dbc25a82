/**
 * The responder of one stack in a process of its own, for the "CPU per call, each end in its own process" figures
 * (bench/suites/split.ts forks it): `node dist/bench/split-responder.js <raw|raw-env|nest|bus|bus+nest> <nats url> [subject prefix]`
 * (the prefix, bus only, lets it share a server with the bench's own stacks: the upstream peers' ours→ours route).
 * It answers the same echo the in-process stacks answer (the bus also serves the bench stream), says `ready` over IPC,
 * and on `mark`/`report` messages
 * reports the CPU time (user + system, µs) it has used since the last mark.
 */
import 'reflect-metadata';
import { connect } from '@nats-io/transport-node';
import { BusClient, NatsTransport, type BusLogger } from '@openagentio/nestjs';
import { benchStream, ECHO, STREAM } from './stacks/bus.js';
import { startBusNestResponder } from './stacks/bus-nest.js';
import { startNestNatsResponder } from './stacks/nest-nats.js';
import { RAW_SPLIT_SUBJECT } from './stacks/raw-nats.js';
import { RAW_ENV_SPLIT_SUBJECT, replyEnvelope } from './stacks/raw-envelope.js';

const [, , kind, url, subjectPrefix] = process.argv;
const quiet: BusLogger = { log() {}, warn() {}, error() {} };

async function start(): Promise<void> {
  switch (kind) {
    case 'raw': {
      const nc = await connect({ servers: url, name: 'split-raw-responder' });
      nc.subscribe(RAW_SPLIT_SUBJECT, {
        queue: RAW_SPLIT_SUBJECT,
        callback: (err, msg) => {
          if (!err) msg.respond(JSON.stringify(msg.json<unknown>()));
        },
      });
      await nc.flush();
      return;
    }
    case 'raw-env': {
      const nc = await connect({ servers: url, name: 'split-rawenv-responder' });
      nc.subscribe(RAW_ENV_SPLIT_SUBJECT, {
        queue: RAW_ENV_SPLIT_SUBJECT,
        callback: (err, msg) => {
          if (!err) msg.respond(JSON.stringify(replyEnvelope(msg.json<Record<string, unknown>>())));
        },
      });
      await nc.flush();
      return;
    }
    case 'nest':
      await startNestNatsResponder(url);
      return;
    case 'bus': {
      const bus = new BusClient(new NatsTransport({ servers: url, name: 'split-bus-responder', warnOpenAccount: false }), {
        agentId: 'bench-server',
        subjectPrefix,
        logger: quiet,
      });
      await bus.connect();
      await bus.handleInvoke(ECHO, (p: unknown) => p).ready;
      await bus.handleStream(STREAM, benchStream).ready;
      return;
    }
    case 'bus+nest':
      if (!(await startBusNestResponder((role) => new NatsTransport({ servers: url, name: `split-${role}`, warnOpenAccount: false }))))
        throw new Error('Nest integration missing');
      return;
    default:
      throw new Error(`unknown responder kind "${kind}"`);
  }
}

await start();
let mark = process.cpuUsage();
process.on('message', (m: unknown) => {
  if (m === 'mark') {
    mark = process.cpuUsage();
    process.send!('marked');
  } else if (m === 'report') {
    const d = process.cpuUsage(mark);
    process.send!({ cpuUs: d.user + d.system });
  } else if (m === 'exit') {
    process.exit(0);
  }
});
process.send!('ready');
