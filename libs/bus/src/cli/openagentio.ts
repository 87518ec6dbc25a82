#!/usr/bin/env node
import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { describeApp } from './describe-app.js';
import { NATS_PERMISSIONS_USAGE, natsPermissionsCommand, SPEC_MARKER } from './nats-permissions-command.js';

// `npx openagentio nats-permissions …` (docs/security.md). `describe-app` is its child for one process.
const [command, ...rest] = process.argv.slice(2);

async function main(): Promise<void> {
  if (command === 'nats-permissions') {
    process.stdout.write(await natsPermissionsCommand(rest, fileURLToPath(import.meta.url)));
  } else if (command === 'describe-app' && rest[0]) {
    const spec = await describeApp(rest[0]);
    // A line of its own: whatever the module logs to stdout cannot be taken for it.
    process.stdout.write(`\n${SPEC_MARKER}${JSON.stringify(spec)}\n`);
    process.exit(0); // a module may leave timers or child processes behind
  } else {
    process.stderr.write(`Commands: nats-permissions\n\n${NATS_PERMISSIONS_USAGE}`);
    process.exitCode = command === undefined || command === '--help' ? 0 : 2;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`openagentio: ${(err as Error).message}\n`);
  process.exit(1);
});
