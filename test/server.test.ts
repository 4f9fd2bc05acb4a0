// The product as a user runs it: `moa serve` and the CLI as real processes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { totpCode } from '../src/modules/operators/index.ts';
import { PLATFORM_TOKEN, randomBrn } from './helpers.ts';
import { runCli, startServer } from './moa-process.ts';
import { signIn } from './operator-client.ts';
import { createScratchDatabase } from './scratch-database.ts';

const serverUrl = process.env.TEST_DATABASE_URL;
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The pretty JSON a command printed, after any log lines (the embedded master-key warning). */
function printed(out: string) {
  const start = out.search(/^[[{]$/m);
  const end = out.indexOf(`\n${out[start] === '[' ? ']' : '}'}\n`, start);
  return JSON.parse(out.slice(start, end + 2));
}

/** A demo operator's line in the start-up banner: e-mail, password and TOTP secret. */
function demoOperator(output: string, email: string) {
  const m = new RegExp(`${email.replace('.', '\\.')}  password (\\S+)  TOTP secret ([A-Z2-7]+)\\n\\s+(otpauth://\\S+)`).exec(
    output,
  );
  assert.ok(m, `the banner shows ${email}`);
  return { email, password: m[1]!, secret: m[2]!, uri: m[3]! };
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'moa-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('embedded: first start seeds the demo, SIGTERM finishes the request in flight, data survives a restart', async () => {
  const dataDir = tempDir();
  const started = Date.now();
  const server = await startServer({ DATA_DIR: dataDir }, cleanups);
  const health = await fetch(`${server.base}/health`);
  assert.equal(health.status, 200);
  assert.ok(Date.now() - started < 60_000, 'answers /health within 60 s');
  assert.ok(existsSync(join(dataDir, 'master.key')), 'a master key was generated into the data folder');
  assert.match(server.output(), /MOA_MASTER_KEY is not set/);

  const key = /(moa_server_[0-9a-z_]+)/.exec(server.output())?.[1];
  assert.ok(key, 'the demo API key is printed');
  const tenant = (await (await fetch(`${server.base}/v1/tenant`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
    name: string;
  };
  assert.equal(tenant.name, 'Moa Cafe');
  assert.match(server.output(), /\/docs/);
  const sample = /(\/v1\/ledger\/accounts\/acc_[0-9a-z]+\/entries)/.exec(server.output())?.[1];
  assert.ok(sample, 'the banner names a sample ledger account');
  const entries = (await (await fetch(`${server.base}${sample}`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
    items: { code: string; amount: number; balanceAfter: number }[];
  };
  // hong.gd's points: welcome points, two earnings, a use partly returned, a charge promotion.
  assert.deepEqual(
    entries.items.map((e) => [e.code, e.amount, e.balanceAfter]),
    [
      ['PROMOTION', 2000, 4105],
      ['USE_CANCEL', 500, 2105],
      ['USE', -2000, 1605],
      ['EARN', 125, 3605],
      ['EARN', 480, 3480],
      ['ADJUST', 3000, 3000],
    ],
  );

  const units = (await (
    await fetch(`${server.base}/v1/identity/units`, { headers: { authorization: `Bearer ${key}` } })
  ).json()) as { available: number; used: number };
  assert.deepEqual(
    [units.available, units.used],
    [95, 5],
    'the demo tenant got 100 units and its five demo members used one each',
  );
  const loginAs = async (loginId: string) =>
    (await fetch(`${server.base}/v1/members/login`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ loginId, password: 'moa-demo-1234' }),
    }).then((r) => r.json())) as { token?: string; code?: string };
  assert.match((await loginAs('hong.gd')).token ?? '', /^mst_/);
  assert.equal((await loginAs('park.sy')).code, 'MEMBER_DORMANT');
  assert.equal((await loginAs('smith.j')).code, 'INVALID_CREDENTIALS');

  // The demo's console operators: the owner signs in with the printed password and a code of the
  // printed TOTP secret; the CS agent may not manage operators.
  assert.match(server.output(), new RegExp(`sign in at ${server.base}/login`));
  const owner = demoOperator(server.output(), 'owner@moacafe.kr');
  const cs = demoOperator(server.output(), 'cs@moacafe.kr');
  assert.match(owner.uri, new RegExp(`^otpauth://totp/.*secret=${owner.secret}`));
  const ownerSession = await signIn(server.base, owner.email, owner.password, {
    method: 'totp',
    code: totpCode(owner.secret, new Date()),
  });
  const operators = await ownerSession.send('GET', '/v1/operators');
  assert.equal(operators.status, 200, JSON.stringify(operators.body));
  const staff = operators.body.items as { id: string; email: string; role: string }[];
  assert.deepEqual(
    staff.map((o) => [o.email, o.role]),
    [
      ['owner@moacafe.kr', 'owner'],
      ['cs@moacafe.kr', 'cs'],
    ],
  );
  const csSession = await signIn(server.base, cs.email, cs.password, { method: 'totp', code: totpCode(cs.secret, new Date()) });
  assert.equal((await csSession.send('GET', '/v1/operators')).status, 403);
  const csPermissions = (await csSession.send('GET', '/auth/session')).body.permissions as string[];
  assert.ok(csPermissions.includes('members:read') && !csPermissions.includes('operators:admin'), String(csPermissions));

  // server.json names the server for the CLI: its URL, pid and a token, readable by the owner only.
  const serverFile = join(dataDir, 'server.json');
  assert.equal(statSync(serverFile).mode & 0o777, 0o600);
  const named = JSON.parse(readFileSync(serverFile, 'utf8'));
  assert.deepEqual([named.url, named.pid], [server.base, server.proc.pid]);
  assert.match(named.token, /^moa_local_[\w-]{43}$/);
  const local = (token: string, command = 'tenant.list') =>
    fetch(`${server.base}/_local/cli/${command}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
  assert.equal((await local('moa_local_wrong')).status, 401);
  assert.equal((await local(named.token, 'nothing.here')).status, 404);
  const proxied = await fetch(`${server.base}/_local/cli/tenant.list`, {
    method: 'POST',
    headers: { authorization: `Bearer ${named.token}`, 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
    body: '{}',
  });
  assert.equal(proxied.status, 404, 'a request a proxy forwarded is not from this machine');
  assert.equal((await fetch(`${server.base}/openapi.json`).then((r) => r.text())).includes('_local'), false);

  // CLI commands on the same data folder go through the server that holds it.
  const env = { DATA_DIR: dataDir };
  const tenantsListed = await runCli(['tenant', 'list'], env);
  assert.equal(tenantsListed.code, 0, tenantsListed.out);
  const demoTenant = printed(tenantsListed.out)[0] as { id: string; name: string };
  assert.equal(demoTenant.name, 'Moa Cafe');
  assert.match(server.output(), /"command":"tenant.list"/, 'the server did the work');
  const invited = await runCli(
    [
      'operator',
      'invite',
      '--tenant',
      demoTenant.id,
      '--email',
      'new.marketer@moacafe.kr',
      '--name',
      '박마케',
      '--role',
      'marketer',
    ],
    env,
  );
  assert.equal(invited.code, 0, invited.out);
  const acceptUrl = new RegExp(`\n  (${server.base}/login#invitation=(inv_[\\w-]+))\n`).exec(invited.out);
  assert.ok(acceptUrl, invited.out);
  assert.doesNotMatch(invited.out, /"token"/, 'the token is printed once, in the link');
  const shown = (await (await fetch(`${server.base}/auth/invitations/${acceptUrl[2]}`)).json()) as {
    email: string;
    role: string;
  };
  assert.deepEqual([shown.email, shown.role], ['new.marketer@moacafe.kr', 'marketer']);
  const teamListed = await runCli(['operator', 'list', '--tenant', demoTenant.id], env);
  assert.equal(teamListed.code, 0, teamListed.out);
  const team = printed(teamListed.out) as { operators: { id: string; email: string }[]; invitations: { email: string }[] };
  assert.deepEqual(
    team.operators.map((o) => o.email),
    ['owner@moacafe.kr', 'cs@moacafe.kr'],
  );
  assert.deepEqual(
    team.invitations.map((i) => i.email),
    ['new.marketer@moacafe.kr'],
  );
  const csId = team.operators.find((o) => o.email === cs.email)!.id;
  assert.equal((await csSession.send('GET', '/auth/session')).status, 200);
  const suspended = await runCli(['operator', 'suspend', '--tenant', demoTenant.id, '--operator', csId], env);
  assert.equal(suspended.code, 0, suspended.out);
  assert.equal(printed(suspended.out).status, 'suspended');
  assert.equal((await csSession.send('GET', '/auth/session')).status, 401, 'the suspended agent is signed out at once');
  const lastOwner = await runCli(['operator', 'suspend', '--tenant', demoTenant.id, '--operator', staff[0]!.id], env);
  assert.equal(lastOwner.code, 1);
  assert.match(lastOwner.out, /LAST_OWNER/, "the server's refusal, as the CLI says it");
  const verified = await runCli(['audit', 'verify', '--tenant', demoTenant.id], env);
  assert.equal(verified.code, 0, verified.out);
  assert.match(verified.out, new RegExp(`^${demoTenant.id}  OK  `, 'm'));
  assert.match(server.output(), /"command":"audit.verify"/);
  const exported = await runCli(['audit', 'export', '--tenant', demoTenant.id, '--from', '2026-01-01'], env);
  assert.equal(exported.code, 0, exported.out);
  assert.match(exported.out, /^\uFEFFseq,at,operator_id,/);
  const badBound = await runCli(['audit', 'export', '--tenant', demoTenant.id, '--to', 'yesterday'], env);
  assert.equal(badBound.code, 2);
  assert.match(badBound.out, /to: a date \(YYYY-MM-DD\) or an instant with its offset/);
  // A command the server does not carry out still needs the database to itself.
  const csvFile = join(tempDir(), 'one.csv');
  writeFileSync(csvFile, 'login_id,name,phone,consent_terms,consent_privacy\nbusy.one,김하나,010-2222-0009,Y,Y\n');
  const busy = await runCli(['members', 'import', '--tenant', demoTenant.id, '--file', csvFile], env);
  assert.equal(busy.code, 1);
  assert.match(busy.out, /in use by process/);

  // A request whose body is still arriving when SIGTERM comes must complete.
  const brn = randomBrn();
  const body = JSON.stringify({ name: 'Late Request', businessRegistrationNumber: brn });
  const { port } = new URL(server.base);
  const response = new Promise<{ status: number; body: string }>((resolveResponse, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/platform/v1/tenants',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${PLATFORM_TOKEN}`,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolveResponse({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, 10));
    setTimeout(() => {
      server.proc.kill('SIGTERM');
      setTimeout(() => req.end(body.slice(10)), 500);
    }, 300);
  });
  const result = await response;
  assert.equal(result.status, 201, result.body);
  assert.equal(JSON.parse(result.body).name, 'Late Request');
  assert.equal(await server.exited, 0, 'exits 0 after finishing');
  assert.match(server.output(), /shutting down/);
  assert.equal(existsSync(serverFile), false, 'server.json is removed on shutdown');
  await assert.rejects(fetch(`${server.base}/health`), 'no longer accepting');

  const again = await startServer({ DATA_DIR: dataDir }, cleanups);
  assert.doesNotMatch(again.output(), /moa_server_/, 'the demo is seeded only into an empty database');
  const listed = await fetch(`${again.base}/platform/v1/tenants`, { headers: { authorization: `Bearer ${PLATFORM_TOKEN}` } });
  const names = ((await listed.json()) as { items: { name: string }[] }).items.map((t) => t.name).sort();
  assert.deepEqual(names, ['Late Request', 'Moa Cafe']);
  assert.notEqual(JSON.parse(readFileSync(serverFile, 'utf8')).token, named.token, 'a new token at each start');
  again.proc.kill('SIGINT');
  assert.equal(await again.exited, 0);
  assert.equal(existsSync(serverFile), false);

  // Without a server the CLI opens the database itself; a server.json left by a process that died,
  // or naming a port where nothing listens, is passed over.
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  writeFileSync(serverFile, JSON.stringify({ url: 'http://127.0.0.1:9', pid: dead, token: 'moa_local_x' }));
  const direct = await runCli(['operator', 'list', '--tenant', demoTenant.id], env);
  assert.equal(direct.code, 0, direct.out);
  assert.equal(printed(direct.out).operators[1].status, 'suspended');
  writeFileSync(serverFile, JSON.stringify({ url: 'http://127.0.0.1:9', pid: process.pid, token: 'moa_local_x' }));
  const refused = await runCli(['tenant', 'list'], env);
  assert.equal(refused.code, 0, refused.out);
  assert.deepEqual((printed(refused.out) as { name: string }[]).map((t) => t.name).sort(), ['Late Request', 'Moa Cafe']);
});

test('CLI: commands print what they did and reject bad arguments with a clear message', async () => {
  const env = { DATA_DIR: tempDir() };
  const help = await runCli(['help'], env);
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: moa <command>/);

  const unknown = await runCli(['launch'], env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.out, /unknown command: launch/);

  const badFlag = await runCli(['tenant', 'create', '--name', 'X', '--brn', '1234567890', '--colour', 'red'], env);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.out, /colour/);

  const badBrn = await runCli(['tenant', 'create', '--name', 'X', '--brn', '116-82-00277'], env);
  assert.equal(badBrn.code, 2);
  assert.match(badBrn.out, /check digit/);

  const missing = await runCli(['apikey', 'create', '--tenant', 'tnt_x'], env);
  assert.equal(missing.code, 2);
  assert.match(missing.out, /missing --scope, --name/);

  const created = await runCli(['tenant', 'create', '--name', 'CLI Brand', '--brn', '116-82-00276', '--locale', 'en-US'], env);
  assert.equal(created.code, 0, created.out);
  const tenant = JSON.parse(created.out);
  assert.equal(tenant.businessRegistrationNumber, '116-82-00276');

  const dup = await runCli(['tenant', 'create', '--name', 'Again', '--brn', '1168200276'], env);
  assert.equal(dup.code, 1);
  assert.match(dup.out, /CONFLICT/);

  const key = await runCli(['apikey', 'create', '--tenant', tenant.id, '--scope', 'pos', '--name', 'Gangnam POS 1'], env);
  assert.equal(key.code, 0, key.out);
  const keyId = /"id": "(key_[0-9a-z]+)"/.exec(key.out)![1]!;
  assert.match(key.out, /moa_pos_/);
  assert.match(key.out, /shown once/);

  // A store binds pos keys only, and must be the tenant's.
  const boundServer = await runCli(
    ['apikey', 'create', '--tenant', tenant.id, '--scope', 'server', '--name', 'S', '--store', 'sto_x'],
    env,
  );
  assert.equal(boundServer.code, 2);
  assert.match(boundServer.out, /--store binds a pos key only/);
  const noStore = await runCli(
    ['apikey', 'create', '--tenant', tenant.id, '--scope', 'pos', '--name', 'P', '--store', 'sto_x'],
    env,
  );
  assert.equal(noStore.code, 1);
  assert.match(noStore.out, /No store sto_x/);

  const list = await runCli(['apikey', 'list', '--tenant', tenant.id], env);
  assert.equal(list.code, 0);
  assert.equal(JSON.parse(list.out)[0].id, keyId);
  assert.doesNotMatch(list.out, /"key":/);

  const revoked = await runCli(['apikey', 'revoke', '--tenant', tenant.id, '--key', keyId], env);
  assert.equal(revoked.code, 0);
  assert.ok(JSON.parse(revoked.out).revokedAt);

  const granted = await runCli(['verification', 'grant', '--tenant', tenant.id, '--units', '30', '--memo', 'pack of 30'], env);
  assert.equal(granted.code, 0, granted.out);
  assert.deepEqual([JSON.parse(granted.out).available, JSON.parse(granted.out).used], [30, 0]);
  const badUnits = await runCli(['verification', 'grant', '--tenant', tenant.id, '--units', '2.5'], env);
  assert.equal(badUnits.code, 2);
  assert.match(badUnits.out, /--units must be a whole number/);
  const noTenant = await runCli(['verification', 'grant', '--tenant', 'tnt_nobody', '--units', '3'], env);
  assert.equal(noTenant.code, 1);
  assert.match(noTenant.out, /NOT_FOUND/);

  // Operators, with no server running: the CLI works on the database itself. A brand's first owner
  // is invited through the owner invitation; the link names the configured address.
  const ownerInvite = await runCli(
    ['operator', 'invite', '--tenant', tenant.id, '--email', 'Rep@CLI-Brand.kr', '--name', 'Representative', '--role', 'owner'],
    env,
  );
  assert.equal(ownerInvite.code, 0, ownerInvite.out);
  assert.deepEqual([printed(ownerInvite.out).email, printed(ownerInvite.out).role], ['rep@cli-brand.kr', 'owner']);
  assert.match(ownerInvite.out, /\n {2}http:\/\/127\.0\.0\.1:3000\/login#invitation=inv_[\w-]{43}\n/);
  const again = await runCli(
    ['operator', 'invite', '--tenant', tenant.id, '--email', 'rep@cli-brand.kr', '--name', 'Twice', '--role', 'cs'],
    env,
  );
  assert.equal(again.code, 1);
  assert.match(again.out, /CONFLICT: This e-mail has an open invitation already/);
  const team = await runCli(['operator', 'list', '--tenant', tenant.id], env);
  assert.equal(team.code, 0, team.out);
  assert.deepEqual(
    [printed(team.out).operators, printed(team.out).invitations.map((i: { email: string }) => i.email)],
    [[], ['rep@cli-brand.kr']],
  );
  const badRole = await runCli(
    ['operator', 'invite', '--tenant', tenant.id, '--email', 'x@y.kr', '--name', 'X', '--role', 'Boss'],
    env,
  );
  assert.equal(badRole.code, 2);
  assert.match(badRole.out, /role/);
  const noOperator = await runCli(['operator', 'suspend', '--tenant', tenant.id], env);
  assert.equal(noOperator.code, 2);
  assert.match(noOperator.out, /missing --operator/);
  const nobody = await runCli(['operator', 'suspend', '--tenant', tenant.id, '--operator', 'opr_nobody'], env);
  assert.equal(nobody.code, 1);
  assert.match(nobody.out, /NOT_FOUND: No operator opr_nobody/);

  const csvFile = join(tempDir(), 'members.csv');
  writeFileSync(
    csvFile,
    'login_id,name,phone,consent_terms,consent_privacy\nfirst.one,김하나,010-2222-0001,Y,Y\nsecond,이둘,010-2222-0002,Y,N\n',
  );
  const imported = await runCli(['members', 'import', '--tenant', tenant.id, '--file', csvFile], env);
  assert.equal(imported.code, 0, imported.out);
  // The printed summary (pretty JSON), after the master-key warning the CLI logs.
  const start = imported.out.indexOf('{\n');
  const summary = JSON.parse(imported.out.slice(start, imported.out.indexOf('\n}', start) + 2));
  assert.deepEqual([summary.imported, summary.rejected], [1, 1]);
  assert.match(imported.out, /imports\/members\.csv\/rejects/);

  const rotated = await runCli(['keys', 'rotate'], env);
  assert.equal(rotated.code, 0, rotated.out);
  const rotation = JSON.parse(
    rotated.out.slice(rotated.out.indexOf('{\n'), rotated.out.indexOf('\n}', rotated.out.indexOf('{\n')) + 2),
  );
  assert.deepEqual(rotation.current, { pii: 'k2', dormant: 'k2' });
  assert.equal(rotation.resealed['member.profile_sealed'], 1, 'the imported member, re-sealed under the new key');

  const migrateRun = await runCli(['migrate'], env);
  assert.equal(migrateRun.code, 0);
  assert.match(migrateRun.out, /nothing left to do/);
});

test('with DATABASE_URL and a sandbox provider, serve and every CLI command refuse to start, naming the provider', async () => {
  // Refused while reading the configuration: no database is reached (port 1 has none).
  const env = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/moa', MOA_MASTER_KEY: randomBytes(32).toString('base64') };
  const serve = await startServer(env, cleanups).catch((err: Error) => err);
  assert.ok(serve instanceof Error && /exited with 1/.test(serve.message), String(serve));
  assert.match(serve.message, /IDENTITY_PROVIDER is sandbox \(the default\): set IDENTITY_PROVIDER=portone/);
  assert.match(serve.message, /PAYMENT_PROVIDER is sandbox/);
  assert.match(serve.message, /MESSAGE_PROVIDER is sandbox \(the default\): set MESSAGE_PROVIDER=none/);
  assert.match(serve.message, /MAIL_PROVIDER is mailbox \(the default without SMTP_URL\): set SMTP_URL=/);
  assert.match(serve.message, /MOA_ALLOW_SANDBOX=true/);
  const migrateRun = await runCli(['migrate'], {
    ...env,
    IDENTITY_PROVIDER: 'portone',
    PORTONE_API_SECRET: 'x',
    PORTONE_STORE_ID: 'y',
    MESSAGE_PROVIDER: 'none',
    SMTP_URL: 'smtp://127.0.0.1:1',
    MAIL_FROM: 'Moa <no-reply@moa.test>',
    MOA_PUBLIC_URL: 'https://console.moa.test',
  });
  assert.equal(migrateRun.code, 1);
  assert.match(migrateRun.out, /PAYMENT_PROVIDER is sandbox/);
  assert.doesNotMatch(migrateRun.out, /IDENTITY_PROVIDER|MESSAGE_PROVIDER|MAIL_PROVIDER/);
});

test('PostgreSQL: two servers started together both serve, and the migrations ran once', {
  skip: serverUrl ? false : 'needs TEST_DATABASE_URL',
}, async () => {
  const scratch = await createScratchDatabase(serverUrl!, 'moa_test_serve');
  cleanups.push(scratch.drop);
  // A test server: the sandbox providers are allowed explicitly (production refuses them).
  const env = { DATABASE_URL: scratch.url, MOA_ALLOW_SANDBOX: 'true', MOA_MASTER_KEY: randomBytes(32).toString('base64') };

  const [a, b] = await Promise.all([startServer(env, cleanups), startServer(env, cleanups)]);
  for (const s of [a, b]) assert.equal((await fetch(`${s.base}/ready`)).status, 200);
  const migratedBy = [a, b].filter((s) => s.output().includes('database migrated'));
  assert.equal(migratedBy.length, 1, 'one process applied the migrations, the other found them done');
  const check = new pg.Client({ connectionString: scratch.url });
  await check.connect();
  const applied = await check.query('select name, count(*)::int as n from schema_migration group by name');
  await check.end();
  assert.ok(applied.rows.length >= 2);
  assert.ok(applied.rows.every((r) => r.n === 1));

  // Tenants created through one process are visible through the other.
  const created = await fetch(`${a.base}/platform/v1/tenants`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${PLATFORM_TOKEN}` },
    body: JSON.stringify({ name: 'Shared', businessRegistrationNumber: randomBrn() }),
  });
  const id = ((await created.json()) as { id: string }).id;
  const seen = await fetch(`${b.base}/platform/v1/tenants/${id}`, { headers: { authorization: `Bearer ${PLATFORM_TOKEN}` } });
  assert.equal(seen.status, 200);

  a.proc.kill('SIGTERM');
  b.proc.kill('SIGTERM');
  assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0]);

  const noKey = await startServer({ DATABASE_URL: scratch.url, MOA_ALLOW_SANDBOX: 'true' }, cleanups).catch((err: Error) => err);
  assert.ok(
    noKey instanceof Error && /MOA_MASTER_KEY must be set/.test(noKey.message),
    'a server database needs an explicit master key',
  );
});

test('PostgreSQL: the production roles of the README — migrations as an owner that is no superuser, requests as a login that owns nothing', {
  skip: serverUrl ? false : 'needs TEST_DATABASE_URL',
}, async () => {
  // README "Roles and row-level security", step by step, with role names of this run's own.
  const suffix = randomBytes(4).toString('hex');
  const [owner, api] = [`moa_owner_${suffix}`, `moa_api_${suffix}`];
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  cleanups.push(async () => {
    await admin.query(`drop database if exists ${owner} with (force)`);
    await admin.query(`drop role if exists ${api}`);
    await admin.query(`drop role if exists ${owner}`);
    await admin.end();
  });
  await admin.query(`create role ${owner} login; create role ${api} login`);
  // moa_app and moa_system are cluster-wide: another test database may have created them already.
  await admin.query(`do $$ begin
    if not exists (select from pg_roles where rolname = 'moa_app') then create role moa_app nologin; end if;
    if not exists (select from pg_roles where rolname = 'moa_system') then create role moa_system nologin; end if;
  exception when duplicate_object or unique_violation then null; end $$`);
  await admin.query(`grant moa_app, moa_system to ${api}`);
  await admin.query(`create database ${owner} owner ${owner}`);
  const url = (login: string) => Object.assign(new URL(serverUrl!), { username: login, pathname: `/${owner}` }).toString();

  const server = await startServer(
    {
      DATABASE_URL: url(api),
      DATABASE_MIGRATION_URL: url(owner),
      MOA_ALLOW_SANDBOX: 'true',
      MOA_MASTER_KEY: randomBytes(32).toString('base64'),
    },
    cleanups,
  );
  assert.match(server.output(), /database migrated/);
  assert.equal((await fetch(`${server.base}/ready`)).status, 200);
  const post = (path: string, body: unknown, auth = PLATFORM_TOKEN) =>
    fetch(`${server.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` },
      body: JSON.stringify(body),
    });
  const tenant = (await (
    await post('/platform/v1/tenants', { name: 'Roles', businessRegistrationNumber: randomBrn() })
  ).json()) as {
    id: string;
  };
  const created = await post(`/platform/v1/tenants/${tenant.id}/api-keys`, { name: 'server', scope: 'server' });
  assert.equal(created.status, 201);
  const { key } = (await created.json()) as { key: string };
  const store = await post('/v1/stores', { code: 'GN01', name: '강남점' }, key);
  assert.equal(store.status, 201, await store.clone().text());
  const listed = (await (await fetch(`${server.base}/v1/stores`, { headers: { authorization: `Bearer ${key}` } })).json()) as {
    items: unknown[];
  };
  assert.equal(listed.items.length, 1);

  // The tables belong to the owner; the application's login owns nothing and bypasses nothing.
  const roles = await admin.query(
    `select r.rolname, r.rolsuper, r.rolbypassrls from pg_roles r where r.rolname in ($1, $2) order by r.rolname`,
    [api, owner],
  );
  assert.deepEqual(
    roles.rows.map((r) => [r.rolname, r.rolsuper, r.rolbypassrls]),
    [
      [api, false, false],
      [owner, false, false],
    ],
  );
  const db = new pg.Client({ connectionString: url(owner) });
  await db.connect();
  const owners = await db.query(`select distinct pg_get_userbyid(relowner) as owner from pg_class
    where relnamespace = 'public'::regnamespace and relkind = 'r'`);
  await db.end();
  assert.deepEqual(
    owners.rows.map((r) => r.owner),
    [owner],
  );
  server.proc.kill('SIGTERM');
  assert.equal(await server.exited, 0);
});
