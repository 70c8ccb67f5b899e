import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Reply } from '@lab/commands';
import { confirmPage, connectPage, myVmsPage, sshKeysPage } from './pages/student-pages.js';
import { messagePage } from './pages/layout.js';
import { signedOutPage } from './sign-in-routes.js';
import { sendPage, type RequestSession, type WebContext } from './web-portal.js';

const VM_ACTIONS = { start: 'start', stop: 'stop', restart: 'restart', reset: 'reset', console: 'console' } as const;

/** The student pages: My VMs and its actions, connect, console, reset with its confirm step, SSH keys. */
export function registerStudentRoutes(app: FastifyInstance, context: WebContext): void {
  app.get('/', async (request, reply) => {
    const session = request.webSession;
    if (!session) return sendPage(reply, signedOutPage());
    const [status, usage] = await Promise.all([
      context.invoke(session, 'myvm', 'status'),
      context.invoke(session, 'myvm', 'usage'),
    ]);
    return sendPage(reply, myVmsPage(session.viewer, status, usage));
  });

  app.post<{ Params: { vmid: string; action: string } }>('/vm/:vmid/:action', async (request, reply) => {
    const session = request.webSession!;
    const action = VM_ACTIONS[request.params.action as keyof typeof VM_ACTIONS];
    const vm = vmParam(request.params.vmid);
    if (!action || !vm) return notFound(reply, session);
    const result = await context.invoke(session, 'myvm', action, { vm });
    if (result.confirm?.id) return sendPage(reply, confirmPage(session.viewer, result));
    const url = (result.data as { url?: unknown } | undefined)?.url;
    if (action === 'console' && !result.error && typeof url === 'string') return reply.redirect(url, 303);
    return outcome(reply, session, result);
  });

  app.get<{ Params: { vmid: string } }>('/vm/:vmid/connect', async (request, reply) => {
    const session = request.webSession;
    if (!session) return reply.redirect('/login', 303);
    const vm = vmParam(request.params.vmid);
    if (!vm) return notFound(reply, session);
    const result = await context.invoke(session, 'myvm', 'connect', { vm });
    return sendPage(reply, connectPage(session.viewer, Number(vm), result), result.error ? 400 : 200);
  });

  app.get<{ Params: { vmid: string } }>('/vm/:vmid/connect.rdp', async (request, reply) => {
    const session = request.webSession;
    if (!session) return reply.redirect('/login', 303);
    const vm = vmParam(request.params.vmid);
    if (!vm) return notFound(reply, session);
    const result = await context.invoke(session, 'myvm', 'connect', { vm });
    const rdp = result.attachments?.find((a) => a.filename.endsWith('.rdp'));
    if (!rdp) return outcome(reply, session, { ...result, error: true });
    return reply
      .type(rdp.contentType)
      .header('content-disposition', `attachment; filename="${rdp.filename.replace(/[^\w.-]/g, '_')}"`)
      .send(typeof rdp.content === 'string' ? rdp.content : Buffer.from(rdp.content));
  });

  app.post('/confirm', async (request, reply) => confirmOrCancel(context, request, reply, false));
  app.post('/cancel', async (request, reply) => confirmOrCancel(context, request, reply, true));

  app.get('/keys', async (request, reply) => {
    const session = request.webSession;
    if (!session) return reply.redirect('/login', 303);
    const list = await context.invoke(session, 'myvm', 'sshkey', { action: 'list' });
    return sendPage(reply, sshKeysPage(session.viewer, list));
  });
  for (const [path, action] of [
    ['/keys', 'add'],
    ['/keys/remove', 'remove'],
  ] as const)
    app.post(path, async (request, reply) => {
      const session = request.webSession!;
      const key = (request.body as Record<string, unknown>).key;
      const words = typeof key === 'string' ? key.trim().split(/\s+/).filter(Boolean) : [];
      const result = await context.invoke(session, 'myvm', 'sshkey', { action, key: words });
      const list = await context.invoke(session, 'myvm', 'sshkey', { action: 'list' });
      return sendPage(reply, sshKeysPage(session.viewer, list, result), result.error ? 400 : 200);
    });
}

async function confirmOrCancel(
  context: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  cancel: boolean,
): Promise<FastifyReply> {
  const session = request.webSession!;
  const id = (request.body as Record<string, unknown>).id;
  const result = await context.confirm(session, typeof id === 'string' ? id : '', cancel);
  return outcome(reply, session, result);
}

/** A VM named in a path: its id, digits only. */
function vmParam(raw: string): string | undefined {
  return /^\d{1,9}$/.test(raw) ? raw : undefined;
}

/** The reply of a command as a page: its sentence, and the way back. */
function outcome(reply: FastifyReply, session: RequestSession, result: Reply): FastifyReply {
  return sendPage(
    reply,
    messagePage(result.error ? 'Not done' : 'Done', result.text, {
      viewer: session.viewer,
      error: result.error === true,
      link: { href: '/', label: 'Back to my VMs' },
    }),
    result.error ? 400 : 200,
  );
}

function notFound(reply: FastifyReply, session: RequestSession): FastifyReply {
  return sendPage(
    reply,
    messagePage('Not found', 'There is no such page.', {
      viewer: session.viewer,
      error: true,
      link: { href: '/', label: 'Back to my VMs' },
    }),
    404,
  );
}
