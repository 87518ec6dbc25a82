import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** A minimal SSE reader over fetch, for tests. */
export interface SseResponse {
  status: number;
  headers: Headers;
  events: EventSourceMessage[];
  comments: string[];
  /** The body ended (server closed). */
  ended: boolean;
  /** Waits until `n` events have arrived (or the stream ended). */
  waitEvents(n: number, timeoutMs?: number): Promise<EventSourceMessage[]>;
  waitEnd(timeoutMs?: number): Promise<void>;
  close(): void;
  /** The raw body when the response was not SSE. */
  json?: unknown;
}

export async function openSse(url: string, init: RequestInit = {}): Promise<SseResponse> {
  const ac = new AbortController();
  const res = await fetch(url, { ...init, signal: ac.signal });
  const out: SseResponse = {
    status: res.status,
    headers: res.headers,
    events: [],
    comments: [],
    ended: false,
    async waitEvents(n, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (out.events.length < n && !out.ended) {
        if (Date.now() > end) throw new Error(`SSE: got ${out.events.length} of ${n} events in time`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return out.events;
    },
    async waitEnd(timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (!out.ended) {
        if (Date.now() > end) throw new Error('SSE: stream did not end in time');
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    close: () => ac.abort(),
  };
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const text = await res.text();
    out.json = text ? JSON.parse(text) : undefined;
    out.ended = true;
    return out;
  }
  const parser = createParser({ onEvent: (e) => out.events.push(e), onComment: (c) => out.comments.push(c) });
  void (async () => {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(dec.decode(value, { stream: true }));
      }
    } catch {
      // aborted
    }
    out.ended = true;
  })();
  return out;
}
