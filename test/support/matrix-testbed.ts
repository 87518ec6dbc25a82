// What the Matrix suites against a real Synapse (test/matrix/matrix-bridge.test.ts, matrix-hostile.test.ts) both
// set up: the homeserver, alice (the human side, with matrix-js-sdk), a bridge bus and an agent bus, rooms with new
// bot accounts, and bridges under supervision. Each suite keeps its own readers of the room.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sdk from 'matrix-js-sdk';
import type { BusClient, Envelope } from '@openagentio/nestjs';
import type { BridgeDefinition, MatrixEventBridge } from '@openagentio/nestjs-bridges';
import { BridgeSupervisor } from '@openagentio/nestjs-bridges/internal/supervision/bridge-supervisor.js';
import { buildBridges } from '@openagentio/nestjs-bridges/internal/bridge-manager.js';
import { memoryBuses, quietLogger, until } from '../bridge/helpers.js';
import { startSynapse, type SynapseServer, type SynapseUser } from './synapse.js';

export interface MatrixTestbed {
  synapse: SynapseServer;
  alice: SynapseUser;
  bridgeBus: BusClient;
  agentBus: BusClient;
  /** A directory of the suite's own (cursor files, stores), removed by close(). */
  tmp: string;
  client(user: SynapseUser): sdk.MatrixClient;
  /** A room alice created, with `bots` new bot accounts invited (`bot` is the first). */
  newRoom(bots?: number): Promise<{ bot: SynapseUser; bots: SynapseUser[]; roomId: string }>;
  /** A matrix_event bridge definition for `bot` in `roomId`, syncing every 10 s and reconnecting after 0.2 s. */
  definition(name: string, bot: SynapseUser, roomId: string, extra?: Record<string, unknown>): BridgeDefinition;
  /** A supervised bridge on the bridge bus; resolves once its first sync has set the cursor (nothing before it is published). */
  startBridge(def: BridgeDefinition): Promise<{ bridge: MatrixEventBridge; supervisor: BridgeSupervisor }>;
  /** Collects the events of `type` the agent bus receives. */
  collect(type: string): { events: Envelope[]; stop(): void };
  close(): Promise<void>;
}

/** Starts Synapse, registers alice (an admin) and connects the two buses; `name` names the bot accounts and tmp. */
export async function startMatrixTestbed(name: string): Promise<MatrixTestbed> {
  const tmp = mkdtempSync(join(tmpdir(), `${name}-`));
  let synapse: SynapseServer | undefined;
  let env: Awaited<ReturnType<typeof memoryBuses>> | undefined;
  const close = async () => {
    await env?.close();
    await synapse?.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    synapse = await startSynapse();
    const alice = await synapse.registerUser('alice', { admin: true });
    env = await memoryBuses('bridge', 'agent');
    const [bridgeBus, agentBus] = env.buses;
    const hs = synapse;
    let botCount = 0;
    const client = (user: SynapseUser) => sdk.createClient({ baseUrl: hs.baseUrl, accessToken: user.accessToken, userId: user.userId });
    return {
      synapse,
      alice,
      bridgeBus,
      agentBus,
      tmp,
      client,
      async newRoom(bots = 1) {
        const users: SynapseUser[] = [];
        for (let i = 0; i < bots; i++) users.push(await hs.registerUser(`${name.replace(/\W/g, '')}bot${++botCount}`));
        const { room_id: roomId } = await client(alice).createRoom({ name: `${name} ${botCount}`, preset: sdk.Preset.PrivateChat });
        for (const u of users) await client(alice).invite(roomId, u.userId);
        return { bot: users[0], bots: users, roomId };
      },
      definition(bridgeName, bot, roomId, extra = {}) {
        return {
          name: bridgeName,
          type: 'matrix_event',
          config: {
            homeserver_url: hs.baseUrl,
            access_token: bot.accessToken,
            user_id: bot.userId,
            room_ids: [roomId],
            sync_timeout: 10,
            reconnect_delay: 0.2,
            ...extra,
          },
        };
      },
      async startBridge(def) {
        const [bridge] = buildBridges({ bridges: [def] }) as MatrixEventBridge[];
        const supervisor = new BridgeSupervisor(bridge, bridgeBus, quietLogger, {
          initialDelayMs: 100,
          maxDelayMs: 500,
          ...bridge.supervision,
        });
        await supervisor.start();
        assert.equal(supervisor.status, 'healthy', JSON.stringify(supervisor.health()));
        await until(() => bridge.describe().cursor_age_ms !== null, 10_000, 'first sync');
        return { bridge, supervisor };
      },
      collect(type) {
        const events: Envelope[] = [];
        const sub = agentBus.subscribe(type, (_p, e) => void events.push(e));
        return { events, stop: () => sub.unsubscribe() };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
