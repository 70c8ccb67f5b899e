import type { Reply } from '@lab/commands';
import { formatLocalTime, type AuditRecord, type DoctorReport } from '@lab/proxmox-sdk';
import { html } from '../html.js';
import { page, type PageViewer } from './layout.js';
import { lines } from './teacher-pages.js';

/** The read-only admin views: the router command each one shows. */
export const ADMIN_VIEWS = [
  { path: 'templates', title: 'Templates', command: 'template', sub: 'list', options: {} },
  { path: 'people', title: 'People and roles', command: 'people', sub: 'list', options: {} },
  { path: 'classes', title: 'Classes', command: 'class', sub: 'list', options: {} },
  { path: 'sync', title: 'Sync status', command: 'lab', sub: 'sync', options: { action: 'status' } },
] as const;

/** The admin start page: links to each view and to the audit log. */
export function adminIndexPage(viewer: PageViewer): string {
  return page(
    'Admin',
    html`<ul>
      ${ADMIN_VIEWS.map((v) => html`<li><a href="/admin/${v.path}">${v.title}</a></li>`)}
      <li><a href="/admin/audit">Audit log</a></li>
      <li><a href="/admin/doctor">Cluster checks</a></li>
    </ul>`,
    viewer,
  );
}

/** A command's answer as a page of its own (the same sentences as chat). */
export function adminReplyPage(viewer: PageViewer, title: string, reply: Reply): string {
  return page(
    title,
    html`<p class="notice${reply.error ? ' error' : ''}">${lines(reply.text)}</p>
      <p><a href="/admin">Back to Admin</a></p>`,
    viewer,
  );
}

/** The audit log with its filters (a GET form: readable and bookmarkable without JavaScript). */
export function auditPage(
  viewer: PageViewer,
  filters: Record<string, string>,
  reply: Reply,
  where: { path: string; classId?: string } = { path: '/admin/audit' },
): string {
  const data = reply.data as
    { timezone: string; entries: AuditRecord[]; page?: number; olderPage?: number | null } | undefined;
  const field = (name: string, label: string, hint: string) =>
    html`<label for="a-${name}">${label}</label>
      <input id="a-${name}" name="${name}" type="text" value="${filters[name] ?? ''}" placeholder="${hint}" />`;
  const pageHref = (n: number) => {
    const query = new URLSearchParams(
      Object.entries({ ...filters, page: String(n) }).filter(([k]) => k !== 'class' || !where.classId),
    );
    return `${where.path}?${query.toString()}`;
  };
  const currentPage = data?.page ?? 1;
  const pager = data
    ? html`<nav aria-label="Pages" class="actions">
        ${currentPage > 1 ? html`<a class="button secondary" href="${pageHref(currentPage - 1)}">Newer entries</a>` : ''}
        ${data.olderPage ? html`<a class="button secondary" href="${pageHref(data.olderPage)}">Older entries</a>` : ''}
      </nav>`
    : '';
  return page(
    where.classId ? `Audit log of ${where.classId}` : 'Audit log',
    html`<form method="get" action="${where.path}" class="stack">
        ${where.classId ? '' : field('class', 'Class', 'cs101')} ${field('person', 'Person', 'alice')}
        ${field('action', 'Action', 'vm.start')} ${field('hours', 'Hours back', '168')}
        <p><button type="submit">Filter</button></p>
      </form>
      ${
        reply.error || !data
          ? html`<p class="notice error" role="alert">${reply.text}</p>`
          : data.entries.length === 0
            ? html`<p>No audit entries match.</p>`
            : html`<div class="table-wrap">
                  <table>
                    <caption>
                      Newest first; times in ${data.timezone}
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col">When</th>
                        <th scope="col">Who</th>
                        <th scope="col">Action</th>
                        <th scope="col">Target</th>
                        <th scope="col">Outcome</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${data.entries.map(
                        (e) =>
                          html`<tr>
                            <td>${formatLocalTime(e.at, data.timezone)}</td>
                            <td>${e.actor}</td>
                            <td>${e.action}</td>
                            <td>${e.target}</td>
                            <td>
                              ${e.outcome}${typeof e.details.reason === 'string' ? html`<br /><small>${e.details.reason}</small>` : ''}
                            </td>
                          </tr>`,
                      )}
                    </tbody>
                  </table>
                </div>
                ${pager}`
      }`,
    viewer,
  );
}

const STATUS_LABEL = { ok: '✓ ok', warn: '! warning', fail: '✗ failed' } as const;

/**
 * `/lab doctor`'s answer as a table: each cluster check (TLS, reachability and PVE version, the
 * token's privileges for that version) with what to do about a warning or failure.
 */
export function doctorPage(viewer: PageViewer, reply: Reply): string {
  const report = reply.data as DoctorReport | undefined;
  if (!report) return adminReplyPage(viewer, 'Cluster checks', reply);
  const verdict = reply.text.trimEnd().split('\n').at(-1) ?? '';
  return page(
    'Cluster checks',
    html`<p class="notice${report.ok ? '' : ' error'}" role="status">${verdict}</p>
      <div class="table-wrap">
        <table>
          <caption>
            What lab doctor checks on each cluster
          </caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Subject</th>
              <th scope="col">Detail</th>
              <th scope="col">What to do</th>
            </tr>
          </thead>
          <tbody>
            ${report.checks.map(
              (c) =>
                html`<tr>
                  <td>${STATUS_LABEL[c.status]}</td>
                  <td>${c.subject}</td>
                  <td>${c.detail}</td>
                  <td>${(c.fix ?? []).map((f) => html`<code>${f}</code><br />`)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <p><a href="/admin">Back to Admin</a></p>`,
    viewer,
  );
}
