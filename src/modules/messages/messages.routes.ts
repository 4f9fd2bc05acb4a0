import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../platform/deps.ts';
import { escapeHtml, htmlForms } from '../../platform/http.ts';
import { mailboxFor, sandboxMessagesTo } from './messages.sandbox.ts';

// The sandboxes' pages: a tester who has no phone and no mail server reads here what Moa would
// have sent to a number or an address (a sign-in code, a recovery link). Mounted only while the
// sandbox is the configured provider (app.ts); plain HTML, no script.

const STYLE = `body{font:15px/1.5 system-ui,'Apple SD Gothic Neo','Malgun Gothic',sans-serif;max-width:720px;margin:2rem auto;padding:0 1rem;color:#1d2433}
h1{font-size:1.3rem}.msg{border:1px solid #d5d9e2;border-radius:8px;margin:.8rem 0;padding:.5rem 1rem}.meta{color:#5b6475;font-size:.85rem}
pre{white-space:pre-wrap;font:inherit;margin:.3rem 0}input{padding:.3rem;min-width:16rem}button{padding:.35rem 1rem}`;

const page = (title: string, form: string, items: string) =>
  `<!doctype html><html lang="ko"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head><body><h1>${title}</h1>${form}${items}</body></html>`;

const lookup = (name: string, label: string, value: string) =>
  `<form method="get"><label>${label} <input type="text" name="${name}" value="${escapeHtml(value)}"></label> <button>보기 Show</button></form>`;

const entry = (meta: string, heading: string, text: string) =>
  `<div class="msg"><div class="meta">${escapeHtml(meta)}</div>${heading ? `<strong>${escapeHtml(heading)}</strong>` : ''}<pre>${escapeHtml(text)}</pre></div>`;

export function sandboxMessageRoutes(deps: Deps, which: { messages: boolean; mailbox: boolean }): FastifyPluginAsyncZod {
  return async (app) => {
    const html = htmlForms(app);
    const query = z.object({ to: z.string().max(254).optional() });
    if (which.messages) {
      app.get('/sandbox/messages', { schema: { hide: true, querystring: query } }, async (req, reply) => {
        const to = req.query.to?.replace(/\D/g, '') ?? '';
        const items = to ? await sandboxMessagesTo(deps, to) : [];
        const list = items.map((m) => entry(`${m.at.toISOString()} · ${m.channel} · ${m.template}`, '', m.text)).join('');
        const none = to && items.length === 0 ? '<p>보낸 메시지가 없습니다. Nothing sent to this number.</p>' : '';
        return html(
          reply,
          200,
          page('문자·알림톡 샌드박스 · Message sandbox', lookup('to', '휴대폰 번호 Phone', to), list + none),
        );
      });
    }
    if (which.mailbox) {
      app.get('/sandbox/mailbox', { schema: { hide: true, querystring: query } }, async (req, reply) => {
        const to = req.query.to?.trim() ?? '';
        const items = to ? await mailboxFor(deps, to) : [];
        const list = items.map((m) => entry(`${m.at.toISOString()} · ${m.from} → ${m.to}`, m.subject, m.text)).join('');
        const none = to && items.length === 0 ? '<p>받은 메일이 없습니다. The mailbox is empty.</p>' : '';
        return html(reply, 200, page('메일함 샌드박스 · Mailbox sandbox', lookup('to', '이메일 E-mail', to), list + none));
      });
    }
  };
}
