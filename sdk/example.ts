// An example with the SDK: a brand's server registers a store, lists its stores page by page, and
// reads a refusal. Run it against a server of yours:
//   MOA_URL=http://127.0.0.1:3000 MOA_KEY=moa_server_… npx tsx sdk/example.ts
import { createMoaClient, type MoaClient, pages } from './index.ts';

export async function example(moa: MoaClient) {
  // A write: typed body, an Idempotency-Key added for you (pass your own to retry safely).
  const created = await moa.POST('/v1/stores', {
    body: { code: `gangnam-${Date.now().toString(36)}`, name: '강남역점', region: '서울' },
    params: { header: { 'idempotency-key': `store-gangnam-${Date.now()}` } },
  });
  if (!created.data) throw new Error(`store not created: ${JSON.stringify(created.error)}`);

  // A list, every page.
  const names: string[] = [];
  for await (const store of pages((cursor) => moa.GET('/v1/stores', { params: { query: { limit: 50, cursor } } })))
    names.push(store.name);

  // A refusal is problem+json with a stable code and the failing field.
  const refused = await moa.POST('/v1/stores', { body: { code: 'not a code!', name: 'x' } });
  return {
    store: created.data,
    names,
    refusal: { status: refused.response.status, code: refused.error?.code, field: refused.error?.errors?.[0]?.field },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const moa = createMoaClient({ baseUrl: process.env.MOA_URL ?? 'http://127.0.0.1:3000', apiKey: process.env.MOA_KEY ?? '' });
  process.stdout.write(`${JSON.stringify(await example(moa), null, 2)}\n`);
}
