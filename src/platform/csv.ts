// A streaming CSV reader (RFC 4180: quoted fields, "" inside quotes, CRLF or LF, newlines inside
// quotes), for imports of millions of rows without holding the file in memory.

/** Yields each record as its fields, in order; a UTF-8 BOM at the start is dropped. */
export async function* readCsv(source: AsyncIterable<string | Buffer> | Iterable<string | Buffer>): AsyncGenerator<string[]> {
  const decoder = new TextDecoder('utf-8');
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let afterQuote = false; // just saw the closing quote of a quoted field (or the first of a "" pair)
  let first = true;
  let pendingCr = false;

  for await (const chunk of source) {
    let text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (first) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = text.length === 0;
    }
    const out: string[][] = [];
    let start = 0; // start of the unquoted run not yet copied into field
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (quoted) {
        if (c !== 34) continue;
        field += text.slice(start, i);
        quoted = false;
        afterQuote = true;
        start = i + 1;
        continue;
      }
      if (c === 34) {
        // an opening quote, or the second quote of "" (a literal quote inside a quoted field)
        if (afterQuote) field += '"';
        else field += text.slice(start, i);
        quoted = true;
        afterQuote = false;
        start = i + 1;
        continue;
      }
      afterQuote = false;
      if (c === 44 /* , */) {
        record.push(field + text.slice(start, i));
        field = '';
        start = i + 1;
      } else if (c === 10 /* \n */ || c === 13 /* \r */) {
        if (c === 10 && pendingCr) {
          pendingCr = false;
          start = i + 1;
          continue;
        }
        record.push(field + text.slice(start, i));
        field = '';
        out.push(record);
        record = [];
        pendingCr = c === 13;
        start = i + 1;
        continue;
      }
      pendingCr = false;
    }
    field += text.slice(start);
    for (const r of out) yield r;
  }
  field += decoder.decode();
  if (field !== '' || record.length > 0) {
    record.push(field);
    yield record;
  }
}
