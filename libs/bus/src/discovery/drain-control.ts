/**
 * Drain control over the Services API subjects (docs/discovery.md, "Drain"): `$SRV.DRAIN.<name>.<id>` and
 * `$SRV.RESUME.<name>.<id>` reach one instance on the subscription it already has for its own id (the verb token
 * is a wildcard), so control adds no subscription. Not ADR-32 verbs: other Services API clients never send them,
 * and a bus answers them only with `discovery: { control: true }`.
 */
export type ControlVerb = 'DRAIN' | 'RESUME';

export const CONTROL_VERBS: ReadonlySet<string> = new Set<ControlVerb>(['DRAIN', 'RESUME']);

export const DRAIN_RESPONSE_TYPE = 'io.openagentio.drain_response';

/** What an instance answers to DRAIN and RESUME: where it is now. */
export interface DrainResponse {
  type: typeof DRAIN_RESPONSE_TYPE;
  name: string;
  id: string;
  /** True once it takes no new calls or tasks and has left discovery. */
  drained: boolean;
  /** Handler runs still in progress (a drained instance finishes them). */
  inflight: number;
}

/** What a service host calls when a control verb comes for its instance; the bus drains or resumes. */
export type DrainControl = (verb: ControlVerb) => { drained: boolean; inflight: number };
