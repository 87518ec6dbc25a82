import 'reflect-metadata';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IsEmail, IsEnum, IsInt, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { assertName, BusError } from '@openagentio/nestjs';
import { schemaFromDto, toolTargetToken } from '@openagentio/nestjs-bridges';
import { parseMcpToolConfig } from '@openagentio/nestjs-bridges/internal/mcp/mcp-config.js';
import { toCallToolResult } from '@openagentio/nestjs-bridges/internal/mcp/mcp-tool-result.js';
// Internals under unit test, reached through the package's internal/ entry (not public API).
import { argumentsOf } from '@openagentio/nestjs-bridges/internal/mcp/mcp-call-helpers.js';
import { globMatches, Redactor, toolAllowed } from '@openagentio/nestjs-bridges/internal/mcp/mcp-names.js';
import { compileArgumentValidator } from '@openagentio/nestjs-bridges/internal/mcp/mcp-schema.js';

enum Level {
  Low = 'low',
  High = 'high',
}

class SignupDto {
  @IsEmail()
  email!: string;

  @IsString()
  @MaxLength(20)
  nick!: string;

  @IsOptional()
  @IsInt()
  @Min(18)
  age?: number;

  @IsOptional()
  @IsEnum(Level)
  level?: Level;

  @IsOptional()
  @IsString({ each: true })
  tags?: string[];
}

describe('mcp helpers', () => {
  it('maps tool names to valid, deterministic, distinct target tokens', () => {
    assert.equal(toolTargetToken('get-sum'), 'get-sum');
    assert.equal(toolTargetToken('read_text_file'), 'read_text_file');
    const names = ['a.b', 'a_b', 'a/b', 'a b', 'a*b', 'a>b', 'héllo', 'x'.repeat(300), '.', ''];
    const tokens = names.map(toolTargetToken);
    assert.equal(new Set(tokens).size, names.length);
    for (const t of tokens) assertName(`prefix.${t}`, 'target');
    assert.equal(toolTargetToken('a.b'), toolTargetToken('a.b'));
    assert.match(toolTargetToken('a.b'), /^a_b~[0-9a-f]{8}$/);
  });

  it('allow/deny globs', () => {
    assert.ok(globMatches('get-*', 'get-sum'));
    assert.ok(!globMatches('get-*', 'echo'));
    assert.ok(globMatches('echo', 'echo'));
    assert.ok(!globMatches('e.ho', 'echo'), 'dots are literal');
    assert.ok(globMatches('a*b*c', 'aXbYc') && globMatches('a*b*c', 'abc') && !globMatches('a*b*c', 'aXbY'));
    assert.ok(globMatches('*', '') && globMatches('**x', 'x') && !globMatches('ab*', 'a'));
    assert.ok(globMatches('*-*-end', 'a-b-c-end') && !globMatches('*-*-end', 'a-end'));
    // Tool names come from the server: a pattern that makes a backtracking regex polynomial stays fast.
    const t0 = process.cpuUsage();
    assert.ok(!globMatches('*a*a*a*a*a*a*b', 'a'.repeat(1_024)));
    const cpu = process.cpuUsage(t0);
    assert.ok((cpu.user + cpu.system) / 1000 < 50, 'linear in the name');
    assert.ok(toolAllowed('echo', undefined, undefined));
    assert.ok(!toolAllowed('echo', ['get-*'], undefined));
    assert.ok(!toolAllowed('get-env', ['get-*'], ['get-env']));
    assert.ok(toolAllowed('x', [], []));
  });

  it('redacts tokens, bearer credentials and key=value secrets', () => {
    const r = Redactor.forConfig({
      token: 'tok-abcdef',
      headers: { 'X-Api-Key': 'k-123456' },
      env: { API_KEY: 'envsecret99', LEVEL: 'debug-level' },
    });
    const out = r.redact(
      'failed with tok-abcdef, Authorization: Bearer abc.def.ghi, api_key=s3cr3tvalue&x=1, k-123456, envsecret99, level debug-level',
    );
    for (const s of ['tok-abcdef', 'abc.def.ghi', 's3cr3tvalue', 'k-123456', 'envsecret99']) assert.ok(!out.includes(s), `${s} in ${out}`);
    assert.ok(out.includes('debug-level'), 'non-secret env values stay');
    assert.deepEqual(r.redactDeep({ a: ['password: hunter2xx'] }), { a: ['password: [REDACTED]'] });
  });

  it('arguments: object as is, null/undefined as {}, anything else INVALID_REQUEST', () => {
    assert.deepEqual(argumentsOf(null, 't'), {});
    assert.deepEqual(argumentsOf(undefined, 't'), {});
    assert.deepEqual(argumentsOf({ a: 1 }, 't'), { a: 1 });
    for (const bad of [[], 'x', 1, false]) {
      assert.throws(
        () => argumentsOf(bad, 't'),
        (e: BusError) => e.code === 'INVALID_REQUEST',
      );
    }
  });

  it('validates draft-07 and 2020-12 schemas; a schema that does not compile yields no validator', () => {
    const v7 = compileArgumentValidator({
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { when: { type: 'string', format: 'date-time' } },
      required: ['when'],
    })!;
    assert.throws(
      () => v7.check({ when: 'yesterday' }, 't'),
      (e: BusError) => e.code === 'INVALID_REQUEST' && (e.details?.fields as string[])[0] === 'when',
    );
    v7.check({ when: '2026-11-24T07:00:00Z' }, 't');
    const v2020 = compileArgumentValidator({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      prefixItems: [],
      unevaluatedProperties: false,
    })!;
    assert.throws(() => v2020.check({ extra: 1 }, 't'), BusError);
    let compileError: Error | undefined;
    assert.equal(
      compileArgumentValidator({ type: 'object', properties: { a: { $ref: '#/nowhere' } } }, (e) => (compileError = e)),
      undefined,
    );
    assert.ok(compileError);
  });

  it('bus results become MCP tool results', () => {
    assert.deepEqual(toCallToolResult('hi'), { content: [{ type: 'text', text: 'hi' }] });
    assert.deepEqual(toCallToolResult({ a: 1 }), { content: [{ type: 'text', text: '{"a":1}' }], structuredContent: { a: 1 } });
    assert.deepEqual(toCallToolResult(5), { content: [{ type: 'text', text: '5' }] });
    assert.deepEqual(toCallToolResult(undefined), { content: [] });
    const passthrough = { content: [{ type: 'text', text: 'x' }], structuredContent: { y: 1 }, text: 'x' };
    assert.deepEqual(toCallToolResult(passthrough), { content: [{ type: 'text', text: 'x' }], structuredContent: { y: 1 } });
  });

  it('derives a JSON Schema from class-validator metadata', () => {
    const s = schemaFromDto(SignupDto);
    assert.deepEqual(s, {
      type: 'object',
      properties: {
        email: { type: 'string', format: 'email' },
        nick: { type: 'string', maxLength: 20 },
        age: { type: 'integer', minimum: 18 },
        level: { enum: ['low', 'high'] },
        tags: { type: 'array', items: { type: 'string' } },
      },
      required: ['email', 'nick'],
    });
  });

  it('config defaults', () => {
    const c = parseMcpToolConfig('b', { command: 'node' });
    assert.equal(c.transport, 'stdio');
    assert.equal(c.timeout_ms, 60_000);
    assert.equal(c.validate_arguments, true);
    assert.equal(parseMcpToolConfig('b', { transport: 'http', url: 'https://x/mcp' }).transport, 'streamable_http');
  });
});
