#!/usr/bin/env node
// npm runs this after `npm ci` / `npm install`. It builds the workspace packages (libs/*/dist), so that
// `npx nest start` and anything importing '@openagentio/nestjs' by name work on a fresh clone. `npm start` and
// `npm run build` rebuild them anyway (tsc -b follows the references), so an edit in libs/*/src is never run stale.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

// npm itself may run on an older Node than the scripts (the scripts run on Node 24 from the `node` devDependency,
// first on PATH inside npm scripts). npm's user agent names the Node that ran npm.
const npmNode = /\bnode\/v(\d+)/.exec(process.env.npm_config_user_agent ?? '')?.[1];
if (npmNode !== undefined && Number(npmNode) < 22) {
  console.log(
    [
      `note: npm ran on Node ${npmNode}; the EBADENGINE warnings above are expected and harmless.`,
      '      Our dependencies (NestJS 12, OpenTelemetry 3, ...) declare Node >= 22. Every npm script (start, test,',
      '      build) runs on Node 24 from the `node` devDependency, so nothing here runs on your Node. To silence them,',
      '      run npm itself on Node 22 or 24 (nvm, fnm, or `bash scripts/with-node.sh 24.22.3 npm ci`).',
    ].join('\n'),
  );
}

const tsc = spawnSync('tsc', ['-b', 'libs/bus', 'libs/bridge', 'libs/gateway'], { cwd: root, stdio: 'inherit', shell: false });
if (tsc.error) {
  console.error(`prepare: could not run tsc (${tsc.error.message}); run "npm run build" once the install is complete`);
  process.exit(1);
}
process.exit(tsc.status ?? 1);
