// Modules talk to each other only through their index.ts; the platform knows no module internals.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const src = resolve(import.meta.dirname, '../src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"`]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The module a file belongs to ("tenants"), or undefined for platform and root files. */
const moduleOf = (file: string): string | undefined => /^modules\/([^/]+)\//.exec(relative(src, file))?.[1];

/** Imports in `text` (the source of `file`) that reach into another module past its index.ts. */
function violationsIn(file: string, text: string): string[] {
  const violations: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec);
    const targetModule = moduleOf(target);
    if (!targetModule || targetModule === moduleOf(file)) continue;
    // The platform's Deps names the providers' interfaces: a type-only import of a module's
    // *.provider.ts (files that import nothing back, so there is no cycle).
    if (!moduleOf(file) && relative(src, file).startsWith('platform/') && /^\s*import\s+type\b/.test(m[0]) && target.endsWith('.provider.ts')) continue;
    if (relative(src, target) !== `modules/${targetModule}/index.ts`) {
      violations.push(`${relative(src, file)} imports ${spec}: use modules/${targetModule}/index.ts`);
    }
  }
  return violations;
}

test('no file imports another module’s internals', () => {
  const files = sources(src).filter((f) => !f.endsWith('.test.ts'));
  assert.ok(files.length > 10);
  assert.deepEqual(files.flatMap((f) => violationsIn(f, readFileSync(f, 'utf8'))), []);
});

test('the check catches deep imports and allows index imports and a module’s own files', () => {
  const platformFile = join(src, 'platform', 'example.ts');
  const otherModule = join(src, 'modules', 'points', 'points.service.ts');
  const sameModule = join(src, 'modules', 'tenants', 'tenants.service.ts');
  assert.deepEqual(violationsIn(platformFile, "import { insertTenant } from '../modules/tenants/tenants.repository.ts';"), [
    'platform/example.ts imports ../modules/tenants/tenants.repository.ts: use modules/tenants/index.ts',
  ]);
  assert.equal(violationsIn(otherModule, "export { x } from '../tenants/tenants.rules.ts';").length, 1);
  assert.equal(violationsIn(otherModule, "const m = await import('../tenants/tenants.service.ts');").length, 1);
  assert.deepEqual(violationsIn(otherModule, "import { getTenant } from '../tenants/index.ts';"), []);
  assert.deepEqual(violationsIn(sameModule, "import * as repo from './tenants.repository.ts';"), []);
  assert.deepEqual(violationsIn(otherModule, "import type { Db } from '../../platform/db.ts';"), []);
  assert.deepEqual(violationsIn(platformFile, "import type { IdentityProvider } from '../modules/identity/identity.provider.ts';"), []);
  assert.equal(violationsIn(platformFile, "import { sandboxPayments } from '../modules/prepaid/prepaid.provider.ts';").length, 1, 'types only');
  assert.equal(violationsIn(otherModule, "import type { SocialProvider } from '../members/member-social.provider.ts';").length, 1, 'modules use index.ts');
});
