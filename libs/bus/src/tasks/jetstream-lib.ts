// The @nats-io/jetstream and @nats-io/kv handles the JetStream task store's files share (the libraries load on first
// use, so only their types are imported here), and the units and timings they agree on.
export type Js = typeof import('@nats-io/jetstream');
export type Kv = typeof import('@nats-io/kv');
export type KvStore = Awaited<ReturnType<InstanceType<Kv['Kvm']>['create']>>;
export type JsClient = ReturnType<Js['jetstream']>;
export type JsManager = Awaited<ReturnType<Js['jetstreamManager']>>;

export const NS = 1_000_000;
/**
 * How long one pull request of a consumer lasts (ms). The server sends idle heartbeats every half of it, and two
 * missed ones make the client pull again: a pull lost with a server (or a stream leader) is renewed within this,
 * not nats.js's 30 s default, during which a worker would take nothing.
 */
export const PULL_EXPIRES_MS = 5_000;
