import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertName, BusError, isPublishableSubject, MAX_SUBJECT_LENGTH, SubjectScheme } from '@openagentio/nestjs';
import { assertPattern } from '@openagentio/nestjs/internal/protocol/subjects.js';
import { subjectMatches } from '@openagentio/nestjs/internal/protocol/subject-match.js';

describe('subjects (docs/protocol.md §2)', () => {
  it('builds invoke, event, dead-letter subjects, tenant-scoped except dead letters', () => {
    const s = new SubjectScheme();
    assert.equal(s.invoke('mcp.fs.read_file'), 'acp.v1.invoke.mcp.fs.read_file');
    assert.equal(s.event('orders.created'), 'acp.v1.events.orders.created');
    assert.equal(s.deadLetter('orders.created'), 'acp.v1.dlq.orders.created');
    const t = new SubjectScheme('acp.v1', 'acme');
    assert.equal(t.invoke('x'), 'acp.v1.acme.invoke.x');
    assert.equal(t.event('e.f'), 'acp.v1.acme.events.e.f');
    assert.equal(t.deadLetter('e.f'), 'acp.v1.dlq.e.f');
  });

  it('rejects bad names with a message that says what is wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['a..b', /empty token/],
      ['a b', /white space/],
      ['a.*', /wildcard/],
      ['a.>', /wildcard/],
      ['.a', /empty token/],
      ['a.', /empty token/],
    ];
    for (const [name, why] of cases) {
      assert.throws(
        () => assertName(name, 'invoke target'),
        (e: BusError) => e.code === 'INVALID_REQUEST' && why.test(e.message) && e.message.includes(name),
        name,
      );
    }
    assert.throws(() => assertName('', 't'), /non-empty/);
    assert.throws(() => assertName(42 as unknown as string, 't'), /non-empty string/);
    assert.doesNotThrow(() => assertName('mcp.fs.read_file', 't'));
  });

  it('accepts * and a final > in patterns only', () => {
    for (const p of ['a.*', 'a.>', '*.b', '>', 'a.*.c']) assert.doesNotThrow(() => assertPattern(p), p);
    for (const p of ['a.>.c', 'a.b*', 'a..b', 'a b']) assert.throws(() => assertPattern(p), BusError, p);
  });

  it('matches like NATS', () => {
    const yes: Array<[string, string]> = [
      ['a.b', 'a.b'],
      ['a.*', 'a.b'],
      ['a.>', 'a.b.c'],
      ['>', 'a'],
      ['*.b.*', 'x.b.y'],
    ];
    const no: Array<[string, string]> = [
      ['a.*', 'a.b.c'],
      ['a.>', 'a'],
      ['a.b', 'a.b.c'],
      ['*', 'a.b'],
      ['a.*.c', 'a.b.d'],
    ];
    for (const [p, s] of yes) assert.ok(subjectMatches(p, s), `${p} ~ ${s}`);
    for (const [p, s] of no) assert.ok(!subjectMatches(p, s), `${p} !~ ${s}`);
  });
});

describe('subjects taken from received messages (isPublishableSubject)', () => {
  it('accepts ordinary reply and control subjects', () => {
    for (const s of [
      '_INBOX.abc.7',
      '_INBOX.abc.ctl.0193-ab',
      'acp.v1.invoke.weather.now',
      'a',
      `_INBOX.${'x'.repeat(MAX_SUBJECT_LENGTH - 7)}`,
    ]) {
      assert.equal(isPublishableSubject(s), true, s);
    }
  });

  it('refuses what would break a protocol line or address a wildcard', () => {
    for (const s of [
      '',
      `_INBOX.${'x'.repeat(MAX_SUBJECT_LENGTH)}`,
      'a b',
      'a\tb',
      'a\r\nPUB x 1',
      'a..b',
      '.a',
      'a.',
      'a.*.b',
      'a.>',
      '>',
      undefined,
      42,
    ]) {
      assert.equal(isPublishableSubject(s), false, JSON.stringify(s));
    }
    assert.equal(isPublishableSubject('a.b*c.d'), true, 'a * inside a token is not a wildcard');
  });
});
