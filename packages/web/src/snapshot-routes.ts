import type { FastifyInstance } from 'fastify';
import { confirmPage } from './pages/student-pages.js';
import { passwordPage, snapshotsPage } from './pages/snapshot-pages.js';
import { messagePage } from './pages/layout.js';
import { sendPage, type RequestSession, type WebContext } from './web-portal.js';

/** A VM named in a path: its id, digits only. */
function vmParam(raw: string): string | undefined {
  return /^\d{1,9}$/.test(raw) ? raw : undefined;
}

function nameField(body: unknown): string | undefined {
  const name = (body as Record<string, unknown> | undefined)?.name;
  return typeof name === 'string' && name.trim() !== '' ? name.trim() : undefined;
}

/**
 * A student's snapshot and password pages, over `/myvm snapshots|snapshot|restore|password`: the
 * router decides whose VM it is, exactly as in chat.
 */
export function registerSnapshotRoutes(app: FastifyInstance, context: WebContext): void {
  const list = (session: RequestSession, vm: string) => context.invoke(session, 'myvm', 'snapshots', { vm });
  const notFound = (session: RequestSession) =>
    messagePage('Not found', 'There is no such page.', {
      viewer: session.viewer,
      error: true,
      link: { href: '/', label: 'Back to my VMs' },
    });

  app.get<{ Params: { vmid: string } }>('/vm/:vmid/snapshots', async (request, reply) => {
    const session = request.webSession;
    if (!session) return reply.redirect('/login', 303);
    const vm = vmParam(request.params.vmid);
    if (!vm) return sendPage(reply, notFound(session), 404);
    const shown = await list(session, vm);
    return sendPage(reply, snapshotsPage(session.viewer, Number(vm), shown), shown.error ? 400 : 200);
  });

  app.post<{ Params: { vmid: string } }>('/vm/:vmid/snapshots', async (request, reply) => {
    const session = request.webSession!;
    const vm = vmParam(request.params.vmid);
    if (!vm) return sendPage(reply, notFound(session), 404);
    const name = nameField(request.body);
    const taken = await context.invoke(session, 'myvm', 'snapshot', { vm, ...(name ? { name } : {}) });
    return sendPage(
      reply,
      snapshotsPage(session.viewer, Number(vm), await list(session, vm), taken),
      taken.error ? 400 : 200,
    );
  });

  app.post<{ Params: { vmid: string } }>('/vm/:vmid/snapshots/delete', async (request, reply) => {
    const session = request.webSession!;
    const vm = vmParam(request.params.vmid);
    const snapshot = nameField(request.body);
    if (!vm) return sendPage(reply, notFound(session), 404);
    const deleted = snapshot
      ? await context.invoke(session, 'myvm', 'snapshot', { vm, name: 'delete', snapshot })
      : { text: 'Say which snapshot to delete.', error: true as const };
    return sendPage(
      reply,
      snapshotsPage(session.viewer, Number(vm), await list(session, vm), deleted),
      deleted.error ? 400 : 200,
    );
  });

  app.post<{ Params: { vmid: string } }>('/vm/:vmid/snapshots/restore', async (request, reply) => {
    const session = request.webSession!;
    const vm = vmParam(request.params.vmid);
    const name = nameField(request.body);
    if (!vm) return sendPage(reply, notFound(session), 404);
    if (!name)
      return sendPage(
        reply,
        snapshotsPage(session.viewer, Number(vm), await list(session, vm), {
          text: 'Say which snapshot to restore.',
          error: true,
        }),
        400,
      );
    const asked = await context.invoke(session, 'myvm', 'restore', { vm, name });
    if (asked.confirm?.id) return sendPage(reply, confirmPage(session.viewer, asked));
    return sendPage(
      reply,
      snapshotsPage(session.viewer, Number(vm), await list(session, vm), asked),
      asked.error ? 400 : 200,
    );
  });

  app.post<{ Params: { vmid: string } }>('/vm/:vmid/password', async (request, reply) => {
    const session = request.webSession!;
    const vm = vmParam(request.params.vmid);
    if (!vm) return sendPage(reply, notFound(session), 404);
    const result = await context.invoke(session, 'myvm', 'password', { vm });
    return sendPage(reply, passwordPage(session.viewer, result), result.error ? 400 : 200);
  });
}
