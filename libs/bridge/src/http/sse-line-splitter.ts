/** Which bound of an SSE stream was passed. */
export type SseLimit = 'max_line_bytes' | 'max_event_bytes';

/** An SSE stream passed one of its bounds; `limit` names the config key, `bytes` its value. */
export class SseLimitError extends Error {
  constructor(
    readonly limit: SseLimit,
    readonly bytes: number,
  ) {
    super(limit === 'max_line_bytes' ? `an SSE line is longer than ${bytes} bytes` : `an SSE event is longer than ${bytes} bytes`);
    this.name = 'SseLimitError';
  }
}

export interface SseLineLimits {
  /** Bytes of one line (without its terminator). */
  maxLineBytes: number;
  /** Bytes of one event: its lines up to the blank line that ends it. */
  maxEventBytes: number;
}

const LF = 10;
const CR = 13;

/**
 * Cuts an SSE byte stream into lines before any parser sees it, within bounds. Each byte is looked at once: a
 * parser fed raw chunks keeps the unfinished line and searches it again with every chunk (quadratic in the line's
 * length), and buffers an event's data without limit until a blank line that a hostile peer never sends. Here a
 * line or an event past its bound throws SseLimitError as soon as the bound is passed, having held at most the
 * bound in memory. Lines end at CR, LF or CRLF (also split across chunks); `onLine` gets each without its end.
 */
export class SseLineSplitter {
  private parts: Uint8Array[] = [];
  private lineBytes = 0;
  private eventBytes = 0;
  private afterCr = false;
  /** A line was passed on since the last blank one: the next blank line ends an event. */
  private inEvent = false;
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly limits: SseLineLimits,
    private readonly onLine: (line: string) => void,
  ) {}

  push(chunk: Uint8Array): void {
    let start = 0;
    if (this.afterCr && chunk.length > 0 && chunk[0] === LF) start = 1;
    this.afterCr = false;
    let lf = chunk.indexOf(LF, start);
    let cr = chunk.indexOf(CR, start);
    for (;;) {
      if (this.lineBytes === 0 && start < chunk.length && (chunk[start] === LF || chunk[start] === CR)) {
        // A run of line ends at a line's start: blank lines, of which only the first can end an event. Stepped over
        // byte by byte, with no search call per byte.
        let i = start + 1;
        while (i < chunk.length && (chunk[i] === LF || chunk[i] === CR)) i++;
        this.blank();
        if (i === chunk.length && chunk[i - 1] === CR) this.afterCr = true;
        start = i;
        continue;
      }
      // Each search resumes past the previous line end, so the chunk is scanned once.
      if (lf !== -1 && lf < start) lf = chunk.indexOf(LF, start);
      if (cr !== -1 && cr < start) cr = chunk.indexOf(CR, start);
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (end === -1) {
        this.hold(chunk.subarray(start));
        return;
      }
      if (this.lineBytes === 0 && end === start) this.blank();
      else this.line(chunk.subarray(start, end));
      start = end + 1;
      if (chunk[end] === CR) {
        if (start >= chunk.length) this.afterCr = true;
        else if (chunk[start] === LF) start++;
      }
    }
  }

  /** The start of a line whose end has not arrived. */
  private hold(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.lineBytes += bytes.length;
    this.check(this.lineBytes);
    // A copy: holding a view would keep the whole chunk it came from.
    this.parts.push(bytes.slice());
  }

  /** A blank line ends the event; one after another dispatches nothing, so a flood of line ends costs only the scan. */
  private blank(): void {
    this.eventBytes = 0;
    if (this.inEvent) {
      this.inEvent = false;
      this.onLine('');
    }
  }

  private line(tail: Uint8Array): void {
    const size = this.lineBytes + tail.length;
    this.check(size);
    let bytes = tail;
    if (this.parts.length > 0) {
      bytes = new Uint8Array(size);
      let at = 0;
      for (const p of this.parts) {
        bytes.set(p, at);
        at += p.length;
      }
      bytes.set(tail, at);
      this.parts = [];
    }
    this.lineBytes = 0;
    this.eventBytes += size;
    this.inEvent = true;
    this.onLine(this.decoder.decode(bytes));
  }

  private check(lineSize: number): void {
    if (lineSize > this.limits.maxLineBytes) throw new SseLimitError('max_line_bytes', this.limits.maxLineBytes);
    if (this.eventBytes + lineSize > this.limits.maxEventBytes) throw new SseLimitError('max_event_bytes', this.limits.maxEventBytes);
  }
}
