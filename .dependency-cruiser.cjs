// Module boundaries, checked in CI (`npm run lint`) and by test/module-boundaries.test.ts.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle ties modules together: break it (types included).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'module-internals',
      severity: 'error',
      comment:
        "A module is used through its index.ts only. The one exception: platform/db-schema.ts reads the modules' *.tables.ts types.",
      from: { path: '^src/modules/([^/]+)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/modules/([^/]+)/(?!index\\.ts$)', pathNot: '^src/modules/$1/' },
    },
    {
      name: 'platform-knows-no-module-internals',
      severity: 'error',
      comment:
        "The platform imports no module file but the *.tables.ts types in db-schema.ts and the providers' interfaces in deps.ts.",
      from: { path: '^src/(platform/|[^/]+\\.ts$)', pathNot: ['^src/platform/db-schema\\.ts$', '\\.test\\.ts$'] },
      to: { path: '^src/modules/[^/]+/(?!index\\.ts$)', pathNot: '^src/modules/[^/]+/[^/]+\\.provider\\.ts$' },
    },
    {
      name: 'provider-interfaces-as-types',
      severity: 'error',
      comment: "Deps names the providers' interfaces (a module's *.provider.ts) by type only.",
      from: { path: '^src/platform/' },
      to: { path: '^src/modules/[^/]+/[^/]+\\.provider\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'db-schema-reads-tables-only',
      severity: 'error',
      from: { path: '^src/platform/db-schema\\.ts$' },
      to: { path: '^src/modules/', pathNot: '^src/modules/[^/]+/[^/]+\\.tables\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
