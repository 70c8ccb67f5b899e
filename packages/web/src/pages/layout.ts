import { html, type SafeHtml } from '../html.js';

/** Who is signed in, for the page header and its forms. */
export interface PageViewer {
  username: string;
  displayName: string;
  role: 'student' | 'teacher' | 'admin';
  csrfToken: string;
}

/** A hidden field carrying the session's CSRF token; every form that changes something has one. */
export function csrfField(viewer: PageViewer): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${viewer.csrfToken}" />`;
}

/** A POST form of one button. */
export function buttonForm(
  viewer: PageViewer,
  action: string,
  label: string,
  options: { style?: 'secondary' | 'danger'; fields?: Record<string, string> } = {},
): SafeHtml {
  return html`<form method="post" action="${action}">
    ${csrfField(viewer)}${Object.entries(options.fields ?? {}).map(
      ([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`,
    )}<button type="submit" ${options.style ? html` class="${options.style}"` : ''}>${label}</button>
  </form>`;
}

/** Links the header shows to people of each role; the teacher and admin pages add theirs here. */
export const headerLinks: Array<{ href: string; label: string; roles: ReadonlyArray<PageViewer['role']> }> = [
  { href: '/', label: 'My VMs', roles: ['student', 'teacher', 'admin'] },
  { href: '/keys', label: 'My SSH keys', roles: ['student', 'teacher', 'admin'] },
];

/** A whole page: header (with sign-out when signed in), main content, the one stylesheet, no script. */
export function page(title: string, content: SafeHtml, viewer?: PageViewer): string {
  const nav = viewer
    ? html`<nav aria-label="Main">
        ${headerLinks.filter((l) => l.roles.includes(viewer.role)).map((l) => html`<a href="${l.href}">${l.label}</a>`)}
        <span>${viewer.displayName || viewer.username} (${viewer.username})</span>
        ${buttonForm(viewer, '/logout', 'Sign out', { style: 'secondary' })}
      </nav>`
    : html``;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} — Proxmox Lab</title>
        <link rel="stylesheet" href="/assets/portal.css" />
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header><strong>Proxmox Lab</strong>${nav}</header>
        <main id="main">
          <h1>${title}</h1>
          ${content}
        </main>
      </body>
    </html> `.value;
}

/** A page of one message: a refusal, an outcome, a sign-in problem. */
export function messagePage(
  title: string,
  message: string,
  options: { viewer?: PageViewer; error?: boolean; link?: { href: string; label: string } } = {},
): string {
  return page(
    title,
    html`<p class="notice${options.error ? ' error' : ' ok'}" role="${options.error ? 'alert' : 'status'}">
        ${message}
      </p>
      ${options.link ? html`<p><a href="${options.link.href}">${options.link.label}</a></p>` : ''}`,
    options.viewer,
  );
}
