import type { ServiceInfo } from './micro-types.js';

/**
 * What a service tells watchers when its targets change (`changed`, with its whole INFO) or when it stops
 * (`stopped`). On NATS it is the payload of an acp/1.0 event of that type, published on `{prefix}.discovery.changed.<name>.<id>` (never tenant-scoped, like dead
 * letters; the `changed` token keeps it apart from a tenant named `discovery`, whose subjects go on with `invoke`,
 * `events` or `cancel`); in memory the broker's registry hands it over.
 */
export type DiscoveryAnnouncement =
  { type: typeof AnnouncementTypes.CHANGED; info: ServiceInfo } | { type: typeof AnnouncementTypes.STOPPED; name: string; id: string };

export const AnnouncementTypes = {
  CHANGED: 'io.openagentio.discovery.v1.changed',
  STOPPED: 'io.openagentio.discovery.v1.stopped',
} as const;

/** Where a service on `prefix` announces itself; with no name and id, the wildcard watchers subscribe to. */
export function announcementSubject(prefix: string, name?: string, id?: string): string {
  return name && id ? `${prefix}.discovery.changed.${name}.${id}` : `${prefix}.discovery.changed.>`;
}
