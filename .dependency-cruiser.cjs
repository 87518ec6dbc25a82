// Import rules that keep the architecture as docs/architecture.md describes it. `npm run lint` runs them.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two files one unit: neither can be read, tested or moved alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'caller-not-to-responder',
      severity: 'error',
      comment: 'The caller (invoke, stream, publish) and the responder meet only in the shared runtime and the protocol.',
      from: { path: '^libs/bus/src/caller/' },
      to: { path: '^libs/bus/src/responder/' },
    },
    {
      name: 'responder-not-to-caller',
      severity: 'error',
      comment: 'The caller (invoke, stream, publish) and the responder meet only in the shared runtime and the protocol.',
      from: { path: '^libs/bus/src/responder/' },
      to: { path: '^libs/bus/src/caller/' },
    },
    {
      name: 'nest-client-not-to-server',
      severity: 'error',
      comment: 'As in @nestjs/microservices: the ClientProxy (client/) and the transport strategy (server/) never import each other.',
      from: { path: '^libs/bus/src/client/' },
      to: { path: '^libs/bus/src/server/' },
    },
    {
      name: 'nest-server-not-to-client',
      severity: 'error',
      comment: 'As in @nestjs/microservices: the ClientProxy (client/) and the transport strategy (server/) never import each other.',
      from: { path: '^libs/bus/src/server/' },
      to: { path: '^libs/bus/src/client/' },
    },
    {
      name: 'bus-not-to-bridges',
      severity: 'error',
      comment: 'The bus package does not know its bridges or its gateway.',
      from: { path: '^libs/bus/' },
      to: { path: '^libs/(bridge|gateway)/' },
    },
    {
      name: 'bridges-not-to-gateway',
      severity: 'error',
      comment: 'The gateway builds on the bridges (their error base and HTTP helpers), never the other way round.',
      from: { path: '^libs/bridge/' },
      to: { path: '^libs/gateway/' },
    },
    {
      name: 'packages-through-public-entry',
      severity: 'error',
      comment:
        'A package uses another only through its package name: its public entry, or its `internal/*` entry for what is ' +
        'not public API (both resolve into the built dist/), never its source files.',
      from: { path: '^libs/(bus|bridge|gateway)/' },
      to: { path: '^libs/(bus|bridge|gateway)/', pathNot: ['^libs/(bus|bridge|gateway)/dist/', '^libs/$1/'] },
    },
    {
      name: 'apps-not-into-libs',
      severity: 'error',
      comment: 'The demo, the tests and the benchmarks import the libraries by package name, as a user does.',
      from: { path: '^(src|test|bench)/' },
      to: { path: '^libs/[^/]+/src/' },
    },
    {
      name: 'packages-declare-what-they-import',
      severity: 'error',
      comment: "A package imports only what its own package.json lists (dependencies or peers), or a user's install breaks.",
      from: { path: '^libs/' },
      to: { dependencyTypes: ['npm-dev', 'npm-no-pkg', 'npm-unknown', 'unknown'], pathNot: '^node:' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', 'dist'] },
    exclude: { path: ['node_modules'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['types', 'import', 'default'],
      extensions: ['.ts', '.d.ts', '.js'],
    },
    combinedDependencies: false,
  },
};
