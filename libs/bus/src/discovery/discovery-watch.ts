import { AnnouncementTypes, type DiscoveryAnnouncement } from './announcement.js';
import type { DiscoveryBackend } from './discovery-backend.js';
import { endpointsOf, type DiscoveredEndpoint } from './discovered-endpoint.js';
import { ServiceResponseTypes, type ServiceInfo } from './micro-types.js';

/** A target coming (`added`) or going (`removed`) on one service instance. */
export interface DiscoveryEvent {
  type: 'added' | 'removed';
  endpoint: DiscoveredEndpoint;
}

export interface DiscoveryWatchOptions {
  /**
   * How often every instance is asked again (ms), which is how an instance that vanished without saying so (a
   * crashed process) is noticed; 0: never. Default 10 000. Changes that instances announce arrive at once.
   */
  refreshInterval?: number;
}

/**
 * The targets of every service instance, kept current: an INFO sweep at start (each target found is `added`), the
 * announcements instances publish when their targets change or they stop, and a sweep every `refreshInterval`.
 *
 * @example
 * const watch = discovery.watch((e) => console.log(e.type, e.endpoint.target, e.endpoint.instanceId));
 * await watch.ready;           // the first sweep is done
 * watch.snapshot();            // every target known now
 * watch.stop();
 */
export class DiscoveryWatch {
  /** Resolves when the watch hears announcements and the first sweep is done (rejects if that sweep fails). */
  readonly ready: Promise<void>;
  /** Endpoints by instance (`<service>.<id>`), then by subject. */
  private readonly instances = new Map<string, Map<string, DiscoveredEndpoint>>();
  private unwatch?: () => void;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Announcements heard while a sweep runs, applied after it (a sweep's answers may be older than they are). */
  private held?: DiscoveryAnnouncement[];
  private sweeping?: Promise<void>;

  constructor(
    private readonly backend: DiscoveryBackend,
    private readonly listener: (event: DiscoveryEvent) => void,
    options: DiscoveryWatchOptions = {},
  ) {
    const every = options.refreshInterval ?? 10_000;
    this.ready = this.start(every);
    this.ready.catch(() => undefined);
  }

  /** Every target known now, one entry per instance that serves it. */
  snapshot(): DiscoveredEndpoint[] {
    const out: DiscoveredEndpoint[] = [];
    for (const eps of this.instances.values()) out.push(...eps.values());
    return out;
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = undefined;
    if (this.timer) clearInterval(this.timer);
  }

  /** Asks every instance again now (or joins the sweep under way); resolves when their answers are applied. */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return (this.sweeping ??= this.sweep().finally(() => {
      this.sweeping = undefined;
    }));
  }

  private async sweep(): Promise<void> {
    this.held = [];
    try {
      const infos = (await this.backend.query('INFO')).filter(isInfo);
      if (this.stopped) return;
      const seen = new Set<string>();
      for (const info of infos) {
        seen.add(keyOf(info.name, info.id));
        this.apply(info);
      }
      for (const key of [...this.instances.keys()]) if (!seen.has(key)) this.drop(key);
    } finally {
      const held = this.held ?? [];
      this.held = undefined;
      for (const a of held) this.onAnnouncement(a);
    }
  }

  private async start(every: number): Promise<void> {
    const unwatch = await this.backend.watch((a) => this.onAnnouncement(a));
    if (this.stopped) {
      unwatch();
      return;
    }
    this.unwatch = unwatch;
    await this.refresh();
    if (every > 0 && !this.stopped) {
      this.timer = setInterval(() => void this.refresh().catch(() => undefined), every);
      this.timer.unref?.();
    }
  }

  private onAnnouncement(a: DiscoveryAnnouncement): void {
    if (this.stopped) return;
    if (this.held) {
      this.held.push(a);
      return;
    }
    if (a.type === AnnouncementTypes.CHANGED && isInfo(a.info)) this.apply(a.info);
    else if (a.type === AnnouncementTypes.STOPPED) this.drop(keyOf(a.name, a.id));
  }

  /** One instance's INFO: its targets not known before are added, those it no longer lists removed. */
  private apply(info: ServiceInfo): void {
    const key = keyOf(info.name, info.id);
    const before = this.instances.get(key) ?? new Map<string, DiscoveredEndpoint>();
    const now = new Map<string, DiscoveredEndpoint>();
    for (const ep of endpointsOf(info)) now.set(ep.subject, ep);
    this.instances.set(key, now);
    for (const [subject, ep] of before) if (!now.has(subject)) this.emit('removed', ep);
    for (const [subject, ep] of now) if (!before.has(subject)) this.emit('added', ep);
  }

  private drop(key: string): void {
    const eps = this.instances.get(key);
    if (!eps) return;
    this.instances.delete(key);
    for (const ep of eps.values()) this.emit('removed', ep);
  }

  private emit(type: DiscoveryEvent['type'], endpoint: DiscoveredEndpoint): void {
    try {
      this.listener({ type, endpoint });
    } catch (err) {
      // As a transport does with a subscriber's exception: it must not stop the watch, nor vanish.
      process.nextTick(() => {
        throw err;
      });
    }
  }
}

function keyOf(name: string, id: string): string {
  return `${name}.${id}`;
}

function isInfo(v: unknown): v is ServiceInfo {
  const i = v as ServiceInfo | undefined;
  return !!i && i.type === ServiceResponseTypes.INFO && typeof i.name === 'string' && typeof i.id === 'string';
}
