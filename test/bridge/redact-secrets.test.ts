import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// Internals under unit test, reached through the package's internal/ entry (not public API).
import { MAX_OUTSIDE_TEXT_CHARS, redactSecrets } from '@openagentio/nestjs-bridges/internal/http/redact-secrets.js';

const MB = 1024 * 1024;

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

/** Texts a hostile peer would send to make a backtracking redaction regex run for seconds or minutes. */
const HOSTILE: Record<string, string> = {
  'key-key-key-…': 'key-'.repeat(MB / 4),
  'key=key=key=…': 'key='.repeat(MB / 4),
  'key: key: key: …': 'key: '.repeat(MB / 5),
  '"token": "token": …': '"token": '.repeat(MB / 9),
  'Bearer Bearer …': 'Bearer '.repeat(MB / 7),
  'Bearer and 1 MB of spaces': `Bearer${' '.repeat(MB)}`,
  'one 1 MB word': 'a'.repeat(MB),
  'password + 1 MB of separators': `password${':'.repeat(MB)}`,
  'auth_auth_… then a space': `${'auth_'.repeat(MB / 5)} `,
};

describe('redactSecrets (shared by all bridges)', () => {
  it('removes Bearer/Basic credentials, secret-looking key=value pairs and given secret values', () => {
    const out = redactSecrets(
      'GET failed: Authorization: Bearer abc.def/ghi=, basic dXNlcjpwYXNz, api_key=s3cr3tvalue&x=1, ' +
        '{"client_secret": "hush-hush", "password":"pw12"}, X-Auth-Token: tk_9876, envsecret99 and level=debug',
      MAX_OUTSIDE_TEXT_CHARS,
      ['envsecret99'],
    );
    for (const s of ['abc.def', 'dXNlcjpwYXNz', 's3cr3tvalue', 'hush-hush', 'pw12', 'tk_9876', 'envsecret99']) {
      assert.ok(!out.includes(s), `${s} in ${out}`);
    }
    assert.match(out, /Authorization: Bearer \[REDACTED\]/);
    assert.match(out, /"client_secret": "\[REDACTED\]"/);
    assert.ok(out.includes('level=debug') && out.includes('x=1'), `non-secret pairs stay: ${out}`);
    assert.equal(redactSecrets('nothing to hide here: a=b'), 'nothing to hide here: a=b');
    assert.equal(redactSecrets('token=ab'), 'token=ab', 'values under 3 characters are not secrets');
  });

  it('cuts to the bound first (with …), never splitting a surrogate pair, and still sees a secret cut in half', () => {
    assert.equal(redactSecrets('x'.repeat(5000)), `${'x'.repeat(MAX_OUTSIDE_TEXT_CHARS)}…`);
    assert.equal(redactSecrets('abcdef', 3), 'abc…');
    assert.equal(redactSecrets('abc', 3), 'abc');
    assert.equal(redactSecrets('a😀b', 2), 'a…');
    const cut = redactSecrets(`${'x'.repeat(990)} token=0123456789abcdef`);
    assert.ok(!cut.includes('01234'), `a value straddling the cut is removed whole: ${cut.slice(980)}`);
    const secretCut = redactSecrets(`${'x'.repeat(995)}supersecretvalue`, MAX_OUTSIDE_TEXT_CHARS, ['supersecretvalue']);
    assert.ok(!secretCut.includes('super'), `a given secret straddling the cut is removed whole: ${secretCut.slice(990)}`);
    assert.ok(cut.length <= MAX_OUTSIDE_TEXT_CHARS + 1 && secretCut.length <= MAX_OUTSIDE_TEXT_CHARS + 1);
  });

  for (const [name, text] of Object.entries(HOSTILE)) {
    it(`is linear: 1 MB of "${name}" in well under 100 ms, uncut and cut`, () => {
      // CPU time, not wall time: on a busy machine the process may wait for a core, which says nothing of the code.
      let t0 = process.cpuUsage();
      const whole = redactSecrets(text, Infinity);
      const uncutMs = cpuMsSince(t0);
      t0 = process.cpuUsage();
      const cut = redactSecrets(text);
      const cutMs = cpuMsSince(t0);
      assert.ok(uncutMs < 100, `${name}: ${uncutMs.toFixed(1)} ms for 1 MB`);
      assert.ok(cutMs < 5, `${name}: ${cutMs.toFixed(1)} ms after cutting`);
      assert.ok(whole.length > 0 && cut.length <= MAX_OUTSIDE_TEXT_CHARS + 1);
    });
  }
});
