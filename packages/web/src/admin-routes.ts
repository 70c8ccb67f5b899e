import type { FastifyInstance } from 'fastify';
import { headerLinks, messagePage } from './pages/layout.js';
import { adminIndexPage, adminReplyPage, auditPage, doctorPage, ADMIN_VIEWS } from './pages/admin-pages.js';
import { sendPage, type WebContext } from './web-portal.js';

headerLinks.push({ href: '/admin', label: 'Admin', roles: ['admin'] });

/**
 * The admin pages: templates, people and roles, classes, sync status, the audit log with its
 * filters and the cluster checks (`/lab doctor`) — each the answer of a router command as the
 * signed-in admin (the router refuses others); no Proxmox call is made here.
 */
export function registerAdminRoutes(app: FastifyInstance, context: WebContext): void {
  app.get('/admin', async (request, reply) => {
    const session = request.webSession;
    if (!session) return reply.redirect('/login', 303);
    if (session.viewer.role !== 'admin')
      return sendPage(
        reply,
        messagePage('Admins only', 'These pages are for lab admins.', {
          error: true,
          link: { href: '/', label: 'My VMs' },
        }),
        403,
      );
    return sendPage(reply, adminIndexPage(session.viewer));
  });
  for (const view of ADMIN_VIEWS)
    app.get(`/admin/${view.path}`, async (request, reply) => {
      const session = request.webSession;
      if (!session) return reply.redirect('/login', 303);
      const result = await context.invoke(session, view.command, view.sub, view.options);
      return sendPage(reply, adminReplyPage(session.viewer, view.title, result), result.error ? 403 : 200);
    });
  // Failed checks are a report (200); only a refusal (no report) is a 403.
  app.get('/admin/doctor', async (request, reply) => {
    const session = request.webSession;
    if (!session) return reply.redirect('/login', 303);
    const result = await context.invoke(session, 'lab', 'doctor', {});
    return sendPage(reply, doctorPage(session.viewer, result), result.data === undefined ? 403 : 200);
  });
  app.get<{ Querystring: Record<string, string | undefined> }>('/admin/audit', async (request, reply) => {
    const session = request.webSession;
    if (!session) return reply.redirect('/login', 303);
    const q = request.query;
    const filters = Object.fromEntries(
      (['class', 'person', 'action', 'hours', 'page'] as const).flatMap((k) => {
        const v = q[k]?.trim();
        return v ? [[k, v]] : [];
      }),
    );
    const result = await context.invoke(session, 'lab', 'audit', filters);
    return sendPage(reply, auditPage(session.viewer, filters, result), result.error ? 403 : 200);
  });
}
