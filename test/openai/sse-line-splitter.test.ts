// The SSE line splitter in front of eventsource-parser: lines end at CR, LF or CRLF wherever chunks are cut, and a
// line or an event past its bound fails as soon as the bound is passed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseLimitError, SseLineSplitter } from '@openagentio/nestjs-bridges/internal/http/sse-line-splitter.js';

const bytes = (s: string) => new TextEncoder().encode(s);

function split(chunks: string[], limits = { maxLineBytes: 100, maxEventBytes: 200 }): string[] {
  const lines: string[] = [];
  const s = new SseLineSplitter(limits, (l) => lines.push(l));
  for (const c of chunks) s.push(bytes(c));
  return lines;
}

describe('SseLineSplitter', () => {
  it('splits at CR, LF and CRLF, also when a CRLF or a multi-byte character is cut between chunks', () => {
    // Runs of blank lines pass on one blank line: the others would dispatch nothing.
    const text = '\n\r\ndata: a\r\ndata: b\rdata: c\n\n\n\r\r\ndata: ü€\r\n\r\n';
    const whole = split([text]);
    assert.deepEqual(whole, ['data: a', 'data: b', 'data: c', '', 'data: ü€', '']);
    const enc = bytes(text);
    for (let cut = 1; cut < enc.length; cut++) {
      const lines: string[] = [];
      const s = new SseLineSplitter({ maxLineBytes: 100, maxEventBytes: 200 }, (l) => lines.push(l));
      s.push(enc.subarray(0, cut));
      s.push(enc.subarray(cut));
      assert.deepEqual(lines, whole, `cut at ${cut}`);
    }
  });

  it('a line past max_line_bytes fails while it is still arriving; an event past max_event_bytes too', () => {
    assert.throws(
      () => split(['data: ', 'x'.repeat(60), 'x'.repeat(60)]),
      (e: SseLimitError) => e.limit === 'max_line_bytes' && e.bytes === 100,
    );
    assert.throws(
      () => split(['data: 1234567890\n'.repeat(20)]),
      (e: SseLimitError) => e.limit === 'max_event_bytes' && e.bytes === 200,
    );
    // A blank line ends the event, so many small events are fine.
    assert.equal(split(['data: 1234567890\n\n'.repeat(100)]).length, 200);
  });
});
