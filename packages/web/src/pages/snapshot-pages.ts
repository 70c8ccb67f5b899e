import type { Reply } from '@lab/commands';
import type { VmSnapshot } from '@lab/proxmox-sdk';
import { html } from '../html.js';
import { buttonForm, csrfField, page, type PageViewer } from './layout.js';

/** The `data` of `/myvm snapshots`. */
interface SnapshotList {
  vm: { name: string; vmid: number };
  limit: number | null;
  snapshots: VmSnapshot[];
}

/**
 * A VM's snapshots (the words and data of `/myvm snapshots`): each with Restore… (which asks to
 * confirm) and, for the student's own, Delete; then a form to take one.
 */
export function snapshotsPage(viewer: PageViewer, vmid: number, list: Reply, outcome?: Reply): string {
  const data = list.error ? undefined : (list.data as SnapshotList | undefined);
  const heading = list.text.split('\n')[0] ?? '';
  const notice = outcome
    ? html`<p class="notice${outcome.error ? ' error' : ' ok'}" role="${outcome.error ? 'alert' : 'status'}">
        ${outcome.text}
      </p>`
    : '';
  if (!data)
    return page(
      'Snapshots',
      html`${notice}
        <p class="notice error" role="alert">${list.text}</p>
        <p><a href="/">Back to my VMs</a></p>`,
      viewer,
    );
  const rows = data.snapshots.map(
    (s) =>
      html`<tr>
        <td>${s.name}</td>
        <td>${s.takenAt === null ? '' : new Date(s.takenAt).toISOString().replace('T', ' ').slice(0, 16)} UTC</td>
        <td>${s.forClass ? `for the class${s.takenBy ? ` (${s.takenBy})` : ''}` : (s.takenBy ?? '')}</td>
        <td class="actions">
          ${buttonForm(viewer, `/vm/${vmid}/snapshots/restore`, `Restore… ${s.name}`, {
            style: 'danger',
            fields: { name: s.name },
          })}
          ${
            s.forClass
              ? ''
              : buttonForm(viewer, `/vm/${vmid}/snapshots/delete`, `Delete ${s.name}`, {
                  style: 'secondary',
                  fields: { name: s.name },
                })
          }
        </td>
      </tr>`,
  );
  return page(
    `Snapshots of ${data.vm.name}`,
    html`${notice}
      <p>${heading}</p>
      ${
        rows.length
          ? html`<table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Taken</th>
                  <th scope="col">By</th>
                  <th scope="col"><span class="skip">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                ${rows}
              </tbody>
            </table>`
          : ''
      }
      <h2>Take a snapshot</h2>
      <form method="post" action="/vm/${vmid}/snapshots">
        ${csrfField(viewer)}
        <label for="name">Name (optional: letters, digits, - or _; default snap-&lt;date&gt;-&lt;time&gt;)</label>
        <input id="name" name="name" maxlength="40" pattern="[A-Za-z][A-Za-z0-9_\\-]{1,39}" />
        <p><button type="submit">Take snapshot</button></p>
      </form>
      <p><a href="/">Back to my VMs</a></p>`,
    viewer,
  );
}

/**
 * The new password of `/myvm password`, shown this once (every answer of the portal is sent with
 * `Cache-Control: no-store`); or why none was set and what to do instead.
 */
export function passwordPage(viewer: PageViewer, reply: Reply): string {
  const data = reply.error ? undefined : (reply.data as { username?: string; password?: string } | undefined);
  return page(
    'New password',
    data?.password
      ? html`<p class="notice ok" role="status">New password for <strong>${data.username ?? ''}</strong>:</p>
          <pre><code>${data.password}</code></pre>
          <p>It is shown only this once and not kept anywhere; write it down or change it inside the VM (passwd).</p>
          <p><a href="/">Back to my VMs</a></p>`
      : html`<p class="notice error" role="alert">${reply.text}</p>
          <p><a href="/">Back to my VMs</a></p>`,
    viewer,
  );
}
