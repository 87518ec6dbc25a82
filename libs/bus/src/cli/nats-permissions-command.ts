import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { AgentSpec, AppSpec, InvokePolicyRule } from '../security/agent-spec.js';
import { appPermissions, natsServerAuthorization, nscCommands, type Credential } from '../security/server-config.js';
import { mergeSpecs } from './merge-specs.js';

export const NATS_PERMISSIONS_USAGE = `Usage: openagentio nats-permissions [options]

Prints the nats-server authorization block (one user per agent) and the equivalent nsc commands for an app.

The agents, from either:
  --agents <file.json>         an AppSpec: {"agents": [{"agentId", "serves", "subscribes", "calls", ...}], "policy": [...]}
  --app <module.js[#Export]>   a compiled Nest module (default export name AppModule), booted on the memory transport
                               (with --agents too: the file's agents are added, e.g. agents of other runtimes)
  --process "K=V K=V"          with --app: the environment of one process (repeat per process; default one, as is)
Options:
  --policy <file.json>         invoke policy rules: [{"name", "callers", "allow"?, "deny"?}]
  --nkey                       users authenticate with nkeys ($NATS_NKEY_<AGENT>) instead of passwords ($NATS_PASS_<AGENT>)
  --format conf|nsc|json|all   what to print (default all)
  --account <name>             the nsc account (default APP)
`;

const run = promisify(execFile);

/** Starts the line on which `describe-app` prints its AgentSpec. */
export const SPEC_MARKER = 'OPENAGENTIO-AGENT-SPEC ';

interface Args {
  agents?: string;
  app?: string;
  processes: string[];
  policy?: string;
  credential: Credential;
  format: 'conf' | 'nsc' | 'json' | 'all';
  account: string;
}

export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { processes: [], credential: 'password', format: 'all', account: 'APP' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n\n${NATS_PERMISSIONS_USAGE}`);
      return v;
    };
    if (a === '--agents') args.agents = value();
    else if (a === '--app') args.app = value();
    else if (a === '--process') args.processes.push(value());
    else if (a === '--policy') args.policy = value();
    else if (a === '--nkey') args.credential = 'nkey';
    else if (a === '--account') args.account = value();
    else if (a === '--format') {
      const f = value();
      if (f !== 'conf' && f !== 'nsc' && f !== 'json' && f !== 'all')
        throw new Error(`--format: unknown format "${f}" (conf, nsc, json, all)`);
      args.format = f;
    } else throw new Error(`unknown argument "${a}"\n\n${NATS_PERMISSIONS_USAGE}`);
  }
  if (!args.agents && !args.app) throw new Error(`give --agents, --app or both\n\n${NATS_PERMISSIONS_USAGE}`);
  return args;
}

/** The `nats-permissions` command: what it prints. */
export async function natsPermissionsCommand(argv: readonly string[], self: string): Promise<string> {
  const args = parseArgs(argv);
  const app: AppSpec = args.agents ? (JSON.parse(readFileSync(args.agents, 'utf8')) as AppSpec) : { agents: [] };
  if (args.app) {
    const booted = await describeProcesses(self, args.app, args.processes.length ? args.processes : ['']);
    app.agents = mergeSpecs([...booted, ...(app.agents ?? [])]);
  }
  if (!Array.isArray(app.agents) || app.agents.length === 0) throw new Error('the description names no agents');
  if (args.policy) app.policy = JSON.parse(readFileSync(args.policy, 'utf8')) as InvokePolicyRule[];
  const out: string[] = [];
  if (args.format === 'json') return JSON.stringify({ app, users: appPermissions(app) }, null, 2) + '\n';
  if (args.format !== 'nsc') out.push(natsServerAuthorization(app, args.credential));
  if (args.format !== 'conf') out.push(nscCommands(app, args.account));
  return out.join('\n');
}

/** Each process in a child of its own (its environment decides what its module contains). */
async function describeProcesses(self: string, moduleRef: string, processes: readonly string[]): Promise<AgentSpec[]> {
  const specs: AgentSpec[] = [];
  for (const p of processes) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const pair of p.split(/\s+/).filter(Boolean)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`--process "${p}": "${pair}" is not KEY=VALUE`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    try {
      const { stdout } = await run(process.execPath, [self, 'describe-app', moduleRef], {
        env,
        maxBuffer: 16 * 1024 * 1024,
        timeout: 120_000,
      });
      const line = stdout.split('\n').find((l) => l.startsWith(SPEC_MARKER));
      if (!line) throw new Error(`no description in its output:\n${stdout.slice(-2000)}`);
      specs.push(JSON.parse(line.slice(SPEC_MARKER.length)) as AgentSpec);
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`describing ${moduleRef}${p ? ` with ${p}` : ''} failed: ${e.stderr || e.message}`, { cause: err });
    }
  }
  return specs;
}
