// Modules talk to each other only through their index.ts, the platform knows no module internals,
// and nothing imports in a cycle: the rules of .dependency-cruiser.cjs (also run by `npm run lint`).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { cruise, type IConfiguration, type IViolation } from 'dependency-cruiser';

const root = resolve(import.meta.dirname, '..');
const config: IConfiguration = createRequire(import.meta.url)(join(root, '.dependency-cruiser.cjs'));

async function violations(baseDir: string, paths: string[]): Promise<string[]> {
  const result = await cruise(paths, { ...config.options, validate: true, baseDir, ruleSet: { forbidden: config.forbidden } });
  if (typeof result.output === 'string') throw new Error(result.output);
  return result.output.summary.violations.map((v: IViolation) => `${v.rule.name}: ${v.from} → ${v.to}`);
}

test('no import cycle, and no file imports another module’s internals', async () => {
  assert.deepEqual(await violations(root, ['src', 'test', 'bench']), []);
});

test('the rules catch a deep import and a cycle, and allow index imports and a module’s own files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'moa-boundaries-'));
  const files: Record<string, string> = {
    'src/modules/tenants/index.ts': "export { rule } from './tenants.rules.ts';\n",
    'src/modules/tenants/tenants.rules.ts': 'export const rule = 1;\n',
    'src/modules/tenants/tenants.service.ts': "import { rule } from './tenants.rules.ts';\nexport const s = rule;\n",
    'src/modules/points/points.service.ts':
      "import { rule } from '../tenants/index.ts';\nimport { rule as deep } from '../tenants/tenants.rules.ts';\nexport const p = rule + deep;\n",
    'src/platform/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
    'src/platform/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
  };
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const found = await violations(dir, ['src']);
    assert.ok(
      found.includes('module-internals: src/modules/points/points.service.ts → src/modules/tenants/tenants.rules.ts'),
      found.join('\n'),
    );
    assert.ok(
      found.some((v) => v.startsWith('no-cycles: src/platform/a.ts')),
      found.join('\n'),
    );
    assert.equal(found.length, 2, found.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
