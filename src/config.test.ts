import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

test('config: defaults for an empty environment (embedded PGlite in ./data, Asia/Seoul)', () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.dataDir, './data');
  assert.equal(config.defaultTimeZone, 'Asia/Seoul');
  assert.equal(config.idempotencyTtlHours, 24);
  assert.equal(config.dbConnectTimeoutMs, 5_000);
  assert.equal(config.masterKey, undefined);
  assert.ok(Object.isFrozen(config));
});

test('config: a wrong value stops start-up with a message naming the variable', () => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DEFAULT_TIME_ZONE: 'Seoul' }, 'DEFAULT_TIME_ZONE'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ MOA_MASTER_KEY: 'short' }, 'MOA_MASTER_KEY'],
    [{ MOA_PLATFORM_TOKEN: 'short' }, 'MOA_PLATFORM_TOKEN'],
    [{ IDEMPOTENCY_TTL_HOURS: '1' }, 'IDEMPOTENCY_TTL_HOURS'],
    [{ JOBS_ENABLED: 'maybe' }, 'JOBS_ENABLED'],
    [{ DB_CONNECT_TIMEOUT_MS: '10' }, 'DB_CONNECT_TIMEOUT_MS'],
  ];
  for (const [env, name] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && err.message.includes(name),
      `${JSON.stringify(env)} should be rejected naming ${name}`,
    );
  }
});

test('config: values are parsed and typed; empty strings count as unset', () => {
  const key = 'ab'.repeat(32);
  const config = loadConfig({
    PORT: '8080',
    DATABASE_URL: 'postgres://u@h:5432/moa',
    MOA_ALLOW_SANDBOX: 'true',
    MOA_MASTER_KEY: key,
    JOBS_ENABLED: 'false',
    HOST: '',
  });
  assert.equal(config.port, 8080);
  assert.equal(config.databaseUrl, 'postgres://u@h:5432/moa');
  assert.deepEqual(config.masterKey, Buffer.from(key, 'hex'));
  assert.equal(config.jobsEnabled, false);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(loadConfig({ MOA_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }).masterKey?.length, 32);
});

test('config: limits on secret checks and the client address', () => {
  const d = loadConfig({});
  assert.equal(d.trustProxy, false);
  assert.deepEqual(
    { ...d.limits },
    {
      secretPerIp: 200,
      secretPerCredential: 20,
      secretWindowSeconds: 60,
      apiPerMinute: 60_000,
      cardPinFailures: 5,
      cardPinFailuresPerMember: 10,
      operatorCodesPerPhoneDay: 10,
      operatorCodesPerTenantDay: 500,
    },
  );
  assert.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
  assert.equal(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy, '10.0.0.0/8, 127.0.0.1');
  assert.equal(loadConfig({ API_RATE_LIMIT_PER_MINUTE: '0' }).limits.apiPerMinute, 0);
  assert.throws(() => loadConfig({ SECRET_RATE_LIMIT_WINDOW_SECONDS: '0' }), /SECRET_RATE_LIMIT_WINDOW_SECONDS/);
  assert.throws(() => loadConfig({ CARD_PIN_MAX_FAILURES: 'many' }), /CARD_PIN_MAX_FAILURES/);
  assert.throws(() => loadConfig({ OPERATOR_CODES_PER_PHONE_DAY: '0' }), /OPERATOR_CODES_PER_PHONE_DAY/);
});

const PG = 'postgres://u@h:5432/moa';

test('config: providers default to the sandbox only in embedded mode', () => {
  const embedded = loadConfig({}).providers;
  assert.deepEqual(
    [embedded.identity, embedded.social, embedded.payment, embedded.messages, embedded.mail.provider, embedded.allowSandbox],
    ['sandbox', ['sandbox'], 'sandbox', 'sandbox', 'mailbox', false],
  );
});

test('config: with DATABASE_URL a sandbox provider stops start-up, naming the provider and how to change it', () => {
  const refused = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.message;
    }
    assert.fail(`${JSON.stringify(env)} should be refused`);
  };
  // Nothing set: identity and payments have no safe default; SNS login is off.
  const none = refused({ DATABASE_URL: PG });
  assert.match(none, /IDENTITY_PROVIDER is sandbox \(the default\): set IDENTITY_PROVIDER=portone/);
  assert.match(none, /PAYMENT_PROVIDER is sandbox \(the default\): set PAYMENT_PROVIDER=portone/);
  assert.match(none, /MESSAGE_PROVIDER is sandbox \(the default\): set MESSAGE_PROVIDER=none/);
  assert.match(
    none,
    /MAIL_PROVIDER is mailbox \(the default without SMTP_URL\): set SMTP_URL=smtp:\/\/… with MAIL_FROM and MOA_PUBLIC_URL/,
  );
  assert.match(none, /MOA_ALLOW_SANDBOX=true/);
  assert.doesNotMatch(none, /SOCIAL_PROVIDERS/);

  const real = {
    DATABASE_URL: PG,
    IDENTITY_PROVIDER: 'portone',
    PAYMENT_PROVIDER: 'portone',
    PORTONE_API_SECRET: 's3cret',
    PORTONE_STORE_ID: 'store-1',
    MESSAGE_PROVIDER: 'none',
    SMTP_URL: 'smtp://mailer:pw@smtp.moa.example:587',
    MAIL_FROM: 'Moa <no-reply@moa.example>',
    MOA_PUBLIC_URL: 'https://console.moa.example/',
  };
  const onlyPayment = refused({ ...real, PAYMENT_PROVIDER: 'sandbox' });
  assert.match(onlyPayment, /PAYMENT_PROVIDER is sandbox: set PAYMENT_PROVIDER=portone/);
  assert.doesNotMatch(onlyPayment, /IDENTITY_PROVIDER|MESSAGE_PROVIDER|MAIL_PROVIDER/);
  assert.match(refused({ ...real, MESSAGE_PROVIDER: 'sandbox' }), /MESSAGE_PROVIDER is sandbox: set MESSAGE_PROVIDER=none/);
  assert.match(
    refused({ ...real, MAIL_PROVIDER: 'mailbox' }),
    /MAIL_PROVIDER is mailbox: set MAIL_PROVIDER=smtp with SMTP_URL, MAIL_FROM and MOA_PUBLIC_URL/,
  );
  assert.match(
    refused({ ...real, SOCIAL_PROVIDERS: 'kakao,sandbox', KAKAO_CLIENT_ID: 'id', KAKAO_CLIENT_SECRET: 'x' }),
    /SOCIAL_PROVIDERS includes sandbox/,
  );

  const ok = loadConfig(real).providers;
  assert.deepEqual(
    [ok.identity, ok.payment, ok.social],
    ['portone', 'portone', []],
    'every provider real: it starts, SNS login off',
  );
  assert.deepEqual(ok.portone, { apiSecret: 's3cret', apiBaseUrl: 'https://api.portone.io', storeId: 'store-1' });
  assert.equal(ok.messages, 'none');
  assert.deepEqual(ok.mail, {
    provider: 'smtp',
    smtpUrl: 'smtp://mailer:pw@smtp.moa.example:587',
    from: 'Moa <no-reply@moa.example>',
    publicUrl: 'https://console.moa.example',
  });
  assert.deepEqual(loadConfig({ ...real, SOCIAL_PROVIDERS: 'none' }).providers.social, []);
});

test('config: MOA_ALLOW_SANDBOX=true lets a test server use the sandbox with DATABASE_URL', () => {
  const p = loadConfig({ DATABASE_URL: PG, MOA_ALLOW_SANDBOX: 'true' }).providers;
  assert.deepEqual(
    [p.identity, p.social, p.payment, p.messages, p.mail.provider, p.allowSandbox],
    ['sandbox', ['sandbox'], 'sandbox', 'sandbox', 'mailbox', true],
  );
  assert.throws(() => loadConfig({ DATABASE_URL: PG, MOA_ALLOW_SANDBOX: 'perhaps' }), /MOA_ALLOW_SANDBOX/);
});

test('config: a real provider without its settings stops start-up naming each missing variable', () => {
  const cases: [Record<string, string>, string[]][] = [
    [{ IDENTITY_PROVIDER: 'portone' }, ['PORTONE_API_SECRET', 'PORTONE_STORE_ID', 'IDENTITY_PROVIDER=portone']],
    [{ PAYMENT_PROVIDER: 'portone', PORTONE_API_SECRET: 'x' }, ['PORTONE_STORE_ID', 'PAYMENT_PROVIDER=portone']],
    [{ SOCIAL_PROVIDERS: 'kakao' }, ['KAKAO_CLIENT_ID', 'KAKAO_CLIENT_SECRET']],
    [
      { SOCIAL_PROVIDERS: 'naver,kakao', KAKAO_CLIENT_ID: 'a', KAKAO_CLIENT_SECRET: 'b', NAVER_CLIENT_ID: 'c' },
      ['NAVER_CLIENT_SECRET'],
    ],
    [{ SOCIAL_PROVIDERS: 'sandbox,payco' }, ['SOCIAL_PROVIDERS']],
    [{ IDENTITY_PROVIDER: 'nice' }, ['IDENTITY_PROVIDER']],
    [{ PORTONE_API_BASE_URL: 'ftp://x' }, ['PORTONE_API_BASE_URL']],
    [{ SMTP_URL: 'smtp://relay:25' }, ['MAIL_FROM', 'MOA_PUBLIC_URL', 'MAIL_PROVIDER=smtp']],
    [{ MAIL_PROVIDER: 'smtp', MAIL_FROM: 'a@b.kr', MOA_PUBLIC_URL: 'https://c.kr' }, ['SMTP_URL']],
    [{ SMTP_URL: 'http://relay' }, ['SMTP_URL']],
    [{ MESSAGE_PROVIDER: 'solapi' }, ['MESSAGE_PROVIDER']],
    [{ MOA_PUBLIC_URL: 'console.moa.kr' }, ['MOA_PUBLIC_URL']],
  ];
  for (const [env, names] of cases) {
    assert.throws(
      () => loadConfig(env),
      (err: unknown) => err instanceof ConfigError && names.every((n) => err.message.includes(n)),
      `${JSON.stringify(env)} should be refused naming ${names.join(', ')}`,
    );
  }
  const naver = loadConfig({
    SOCIAL_PROVIDERS: ' Naver , sandbox,naver',
    NAVER_CLIENT_ID: 'c',
    NAVER_CLIENT_SECRET: 'd',
    NAVER_API_BASE_URL: 'http://127.0.0.1:9/',
  }).providers;
  assert.deepEqual(naver.social, ['naver', 'sandbox']);
  assert.deepEqual(naver.naver, {
    clientId: 'c',
    clientSecret: 'd',
    authBaseUrl: 'https://nid.naver.com',
    apiBaseUrl: 'http://127.0.0.1:9',
  });
  assert.equal(naver.kakao.issuer, 'https://kauth.kakao.com');
});
