import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { readCsv } from './csv.ts';

const all = async (chunks: (string | Buffer)[]) => {
  const rows: string[][] = [];
  for await (const r of readCsv(
    (async function* () {
      yield* chunks;
    })(),
  ))
    rows.push(r);
  return rows;
};

test('quotes, doubled quotes, commas and newlines inside quotes, CRLF, a BOM, no final newline', async () => {
  const text = '\ufeffid,name,memo\r\n1,"Hong, Gildong","said ""hi""\nthen left"\r\n2,김민지,\n3,,"x"';
  assert.deepEqual(await all([text]), [
    ['id', 'name', 'memo'],
    ['1', 'Hong, Gildong', 'said "hi"\nthen left'],
    ['2', '김민지', ''],
    ['3', '', 'x'],
  ]);
});

test('property: any table survives any chunking, as strings or as bytes split inside characters', async () => {
  const cell = fc.string({ unit: fc.constantFrom('a', '가', ',', '"', '\n', '\r\n', ' ', '1') });
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.array(cell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 5 }),
      fc.boolean(),
      async (table, cuts, bytes) => {
        // An empty single-field record would be an empty line; give it content so the table round-trips.
        const rows = table.map((r) => (r.length === 1 && r[0] === '' ? ['x'] : r));
        const text = `${rows.map((r) => r.map((c) => `"${c.replaceAll('"', '""')}"`).join(',')).join('\r\n')}\r\n`;
        const whole = bytes ? Buffer.from(text) : text;
        const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
        const chunks: (string | Buffer)[] = [];
        let at = 0;
        for (const p of [...points, whole.length]) {
          chunks.push(whole.slice(at, p) as string | Buffer);
          at = p;
        }
        assert.deepEqual(await all(chunks), rows);
      },
    ),
    { numRuns: 300 },
  );
});
