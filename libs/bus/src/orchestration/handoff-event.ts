/**
 * The event a handoff publishes (in the conversation's session), so that whoever routes the session's next turn
 * (SessionRoutes in a gateway, in any process on the bus) learns the session's new active agent. Plain acp/1.0
 * pub/sub on `{prefix}.events.orchestration.handoff`.
 */
export const HANDOFF_EVENT_TYPE = 'orchestration.handoff';

/** Payload of the handoff event. */
export interface HandoffEventPayload {
  from: string;
  to: string;
  reason?: string;
  depth: number;
  chain: string[];
}
