// The Synapse harness (test/support/synapse.ts) with a real homeserver, driven by the real matrix-js-sdk client:
// accounts, a room, a message read back, rate-limit overrides, a revoked token, and a crash and restart that keep
// the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as sdk from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { startSynapse, type SynapseServer, type SynapseUser } from '../support/synapse.js';

// The SDK logs every request at debug level by default.
sdkLogger.setLevel('warn');

let synapse: SynapseServer;
let alice: SynapseUser;
let bob: SynapseUser;
let roomId: string;
let helloId: string;

const client = (user: SynapseUser) => sdk.createClient({ baseUrl: synapse.baseUrl, accessToken: user.accessToken, userId: user.userId });

/** Sends a text message with a plain PUT (no client-side retry, unlike the SDK's scheduler on 429). */
async function rawSend(user: SynapseUser, body: string): Promise<Response> {
  const txn = `t${Date.now()}${Math.random().toString(36).slice(2)}`;
  return fetch(`${synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ msgtype: 'm.text', body }),
  });
}

before(async () => {
  synapse = await startSynapse();
  alice = await synapse.registerUser('alice', { admin: true });
  bob = await synapse.registerUser('bob');
});

after(() => synapse?.stop());

test('registered users have IDs on the server name and working tokens', async () => {
  assert.equal(alice.userId, `@alice:${synapse.serverName}`);
  assert.equal(bob.userId, `@bob:${synapse.serverName}`);
  const who = await client(bob).whoami();
  assert.equal(who.user_id, bob.userId);
  assert.equal(who.device_id, bob.deviceId);
});

test('alice creates a room and invites bob; bob joins and reads her "hello" through matrix-js-sdk', async () => {
  const aliceClient = client(alice);
  const bobClient = client(bob);
  ({ room_id: roomId } = await aliceClient.createRoom({ name: 'smoke', preset: sdk.Preset.PrivateChat }));
  await aliceClient.invite(roomId, bob.userId);
  await bobClient.joinRoom(roomId);
  ({ event_id: helloId } = await aliceClient.sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: 'hello' }));

  const page = await bobClient.createMessagesRequest(roomId, null, 10, sdk.Direction.Backward);
  const hello = page.chunk.find((e) => e.event_id === helloId);
  assert.ok(hello, `"hello" not among bob's latest events: ${JSON.stringify(page.chunk.map((e) => e.type))}`);
  assert.equal(hello.sender, alice.userId);
  assert.equal(hello.type, 'm.room.message');
  assert.equal(hello.content.body, 'hello');

  const members = await bobClient.getJoinedRoomMembers(roomId);
  assert.deepEqual(Object.keys(members.joined).sort(), [alice.userId, bob.userId].sort());
});

test('override_ratelimit sets a per-user limit that Synapse enforces, and resetting it lifts the limit', async () => {
  assert.deepEqual(await synapse.overrideRateLimit(bob.userId, 1, 1), { messages_per_second: 1, burst_count: 1 });
  assert.equal((await rawSend(bob, 'one')).status, 200);
  const limited = await rawSend(bob, 'two');
  assert.equal(limited.status, 429);
  assert.equal(((await limited.json()) as { errcode: string }).errcode, 'M_LIMIT_EXCEEDED');

  await synapse.resetRateLimit(bob.userId);
  assert.equal((await rawSend(bob, 'three')).status, 200);
});

test('a logged-out token gets 401 M_UNKNOWN_TOKEN through matrix-js-sdk', async () => {
  const carol = await synapse.registerUser('carol');
  const carolClient = client(carol);
  assert.equal((await carolClient.whoami()).user_id, carol.userId);
  await synapse.logout(carol.accessToken);
  await assert.rejects(carolClient.whoami(), (e: unknown) => {
    assert.ok(e instanceof sdk.MatrixError, String(e));
    assert.equal(e.httpStatus, 401);
    assert.equal(e.errcode, 'M_UNKNOWN_TOKEN');
    return true;
  });
});

test('after a SIGKILL and a restart on the same port, the room still holds "hello" and takes new messages', async () => {
  const port = synapse.port;
  await synapse.kill();
  assert.equal(synapse.running, false);
  await assert.rejects(fetch(`${synapse.baseUrl}/_matrix/client/versions`));

  await synapse.restart();
  assert.equal(synapse.port, port);
  const bobClient = client(bob);
  const hello = await bobClient.fetchRoomEvent(roomId, helloId);
  assert.equal(hello.content?.body, 'hello');
  assert.equal(hello.sender, alice.userId);

  const { event_id } = await client(alice).sendMessage(roomId, { msgtype: sdk.MsgType.Text, body: 'still here' });
  const again = await bobClient.fetchRoomEvent(roomId, event_id);
  assert.equal(again.content?.body, 'still here');
});
