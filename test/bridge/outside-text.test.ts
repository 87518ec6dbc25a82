// outsideText: what of a text from outside (or from the bus) a bridge shows a caller or a room.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outsideText } from '@openagentio/nestjs-bridges/internal/http/outside-text.js';

describe('outsideText', () => {
  it('cuts, redacts (the given secrets too) and replaces reply subjects', () => {
    assert.equal(
      outsideText('no responders on _INBOX.AbC123.ctl.9 for api_key=sk-live-123456 and tok-abcdef', 1_000, ['tok-abcdef']),
      'no responders on (internal subject) for api_key=[REDACTED] and [REDACTED]',
    );
    const long = outsideText(`${'x'.repeat(5_000_000)} password=hunter22`, 100);
    assert.equal(long, `${'x'.repeat(100)}…`);
    assert.equal(outsideText('plain', 3), 'pla…');
  });

  it('costs the bound, not the text: 5 MB of subjects and key-like words in a few milliseconds', () => {
    const text = '_INBOX.a key=v '.repeat(350_000);
    const t0 = performance.now();
    const out = outsideText(text);
    assert.ok(performance.now() - t0 < 100, `${performance.now() - t0} ms`);
    assert.ok(out.length <= 1_001 && !out.includes('_INBOX.'));
  });
});
