import { v7 as uuidv7 } from 'uuid';

/** A new lowercase UUIDv7 (RFC 9562), the id of every envelope. */
export function newEventId(): string {
  return uuidv7();
}

/** RFC 3339 UTC time with milliseconds, as the upstream runtimes write it. */
export function nowRfc3339(): string {
  return new Date().toISOString();
}
