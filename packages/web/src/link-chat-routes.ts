import type { FastifyInstance } from 'fastify';
import { html } from './html.js';
import { buttonForm, headerLinks, page, type PageViewer } from './pages/layout.js';
import { sendPage, type WebContext } from './web-portal.js';
import type { Reply } from '@lab/commands';

headerLinks.push({ href: '/link', label: 'Link my chat account', roles: ['student', 'teacher', 'admin'] });

/** Link my chat account: what to do, and the one-time code once asked for (`/myvm link-code`). */
export function linkChatPage(viewer: PageViewer, issued?: Reply): string {
  const code = (issued?.data as { code?: string } | undefined)?.code;
  return page(
    'Link my chat account',
    html`<p>
        Use the lab from Slack or Discord as yourself: make a code here, then type it there as
        <code>/lab link-me CODE</code> from the account you want to link. The code works once, for ten minutes.
      </p>
      ${
        issued
          ? html`<p class="notice${issued.error ? ' error' : ' ok'}" role="status">${issued.text}</p>
              ${code ? html`<p>Your code: <strong class="code">${code}</strong></p>` : ''}`
          : ''
      }
      ${buttonForm(viewer, '/link', code ? 'Make a new code' : 'Make a code')}`,
    viewer,
  );
}

/** `/link`: the page, and the POST that asks the router for a code as the signed-in person. */
export function registerLinkChatRoutes(app: FastifyInstance, context: WebContext): void {
  app.get('/link', async (request, reply) => {
    const session = request.webSession;
    if (!session) return reply.redirect('/login', 303);
    return sendPage(reply, linkChatPage(session.viewer));
  });
  app.post('/link', async (request, reply) => {
    const session = request.webSession!;
    const issued = await context.invoke(session, 'myvm', 'link-code');
    return reply
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .code(issued.error ? 400 : 200)
      .send(linkChatPage(session.viewer, issued));
  });
}
