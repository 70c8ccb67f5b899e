import type { Reply } from '@lab/commands';
import { DeploymentEngine, type VmInventoryRecord } from '@lab/proxmox-sdk';
import { html } from '../html.js';
import { buttonForm, csrfField, page, type PageViewer } from './layout.js';

/** The VM fields the student page shows (the `data` of `/myvm status`), with why it last started or stopped. */
export type ShownVm = Pick<
  VmInventoryRecord,
  'vmid' | 'name' | 'node' | 'status' | 'ip' | 'category' | 'sshAvailable' | 'rdpAvailable'
> & { why?: string | null; tags?: string };

/** "ready" when the VM answers on its connection port (SSH, or RDP for Windows). */
function readiness(vm: ShownVm): string {
  if (vm.status !== 'running') return 'not running';
  const ready = vm.category === 'windows' ? vm.rdpAvailable : vm.sshAvailable;
  return ready ? 'ready' : 'starting (not ready yet)';
}

/**
 * My VMs: each VM's state, address and readiness with its actions (start, stop, restart, connect,
 * console, reset), then the hours used and left and the next session, in the words of `/myvm usage`.
 */
export function myVmsPage(viewer: PageViewer, status: Reply, usage: Reply): string {
  const vms = Array.isArray(status.data) ? (status.data as ShownVm[]) : [];
  const list = vms.length
    ? html`<ul class="vms">
        ${vms.map(
          (vm) =>
            html`<li class="vm">
              <h2>${vm.name} <small>(${vm.vmid})</small></h2>
              <dl>
                ${
                  DeploymentEngine.labRoleOf(vm)
                    ? html`<dt>Role</dt>
                        <dd class="role">${DeploymentEngine.labRoleOf(vm)!}</dd>`
                    : ''
                }
                <dt>State</dt>
                <dd>${vm.status}</dd>
                <dt>Address</dt>
                <dd>${vm.ip ?? 'none yet'}</dd>
                <dt>Ready</dt>
                <dd>${readiness(vm)}</dd>
                ${
                  vm.why
                    ? html`<dt>Last action</dt>
                        <dd class="why">${vm.why}</dd>`
                    : ''
                }
              </dl>
              <div class="actions">
                ${
                  vm.status === 'running'
                    ? html`${buttonForm(viewer, `/vm/${vm.vmid}/stop`, 'Stop', { style: 'secondary' })}${buttonForm(
                        viewer,
                        `/vm/${vm.vmid}/restart`,
                        'Restart',
                        { style: 'secondary' },
                      )}`
                    : buttonForm(viewer, `/vm/${vm.vmid}/start`, 'Start')
                }
                <a class="button secondary" href="/vm/${vm.vmid}/connect">Connect</a>
                ${buttonForm(viewer, `/vm/${vm.vmid}/console`, 'Console', { style: 'secondary' })}
                <a class="button secondary" href="/vm/${vm.vmid}/snapshots">Snapshots</a>
                ${buttonForm(viewer, `/vm/${vm.vmid}/password`, 'New password', { style: 'secondary' })}
                ${buttonForm(viewer, `/vm/${vm.vmid}/reset`, 'Reset…', { style: 'danger' })}
              </div>
            </li>`,
        )}
      </ul>`
    : html`<p>${status.error ? status.text : 'You have no VM yet. Your teacher deploys them for your class.'}</p>`;
  const stale = /may be a few minutes old/.test(status.text)
    ? html`<p><small>The list may be a few minutes old.</small></p>`
    : '';
  return page(
    'My VMs',
    html`${list}${stale}
      <h2>Hours</h2>
      <p>${usage.text.split('\n').map((line, i) => html`${i ? html`<br />` : ''}${line}`)}</p>`,
    viewer,
  );
}

/** How to connect: the ssh line and, for Windows, the `.rdp` file to download. */
export function connectPage(viewer: PageViewer, vmid: number, reply: Reply): string {
  const data = (reply.data ?? {}) as { sshCommand?: string };
  const rdp = reply.attachments?.find((a) => a.filename.endsWith('.rdp'));
  return page(
    'Connect',
    html`<p class="notice${reply.error ? ' error' : ''}">${reply.text}</p>
      ${
        data.sshCommand
          ? html`<p>SSH:</p>
              <pre><code>${data.sshCommand}</code></pre>`
          : ''
      }
      ${rdp ? html`<p><a class="button" href="/vm/${vmid}/connect.rdp" download="${rdp.filename}">Download ${rdp.filename}</a></p>` : ''}
      <p><a href="/">Back to my VMs</a></p>`,
    viewer,
  );
}

/** The confirm step of a destructive action (a reset): Confirm or Cancel, both forms. */
export function confirmPage(viewer: PageViewer, reply: Reply): string {
  const id = reply.confirm?.id ?? '';
  return page(
    'Please confirm',
    html`<p class="notice error" role="alert">${reply.confirm?.prompt ?? reply.text}</p>
      <div class="actions">
        ${buttonForm(viewer, '/confirm', reply.confirm?.action ?? 'Confirm', { style: 'danger', fields: { id } })}
        ${buttonForm(viewer, '/cancel', 'Cancel', { style: 'secondary', fields: { id } })}
      </div>`,
    viewer,
  );
}

/** My SSH keys: the list with a remove button each, and a form to add one. */
export function sshKeysPage(viewer: PageViewer, list: Reply, outcome?: Reply): string {
  const keys = Array.isArray(list.data)
    ? (list.data as Array<{ type: string; fingerprint: string; comment: string | null }>)
    : [];
  return page(
    'My SSH keys',
    html`${outcome ? html`<p class="notice${outcome.error ? ' error' : ' ok'}" role="status">${outcome.text}</p>` : ''}
      ${
        keys.length
          ? html`<table>
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Fingerprint</th>
                  <th scope="col">Comment</th>
                  <th scope="col"><span class="skip">Remove</span></th>
                </tr>
              </thead>
              <tbody>
                ${keys.map(
                  (k) =>
                    html`<tr>
                      <td>${k.type}</td>
                      <td><code>${k.fingerprint}</code></td>
                      <td>${k.comment ?? ''}</td>
                      <td>
                        ${buttonForm(viewer, '/keys/remove', 'Remove', {
                          style: 'secondary',
                          fields: { key: k.fingerprint },
                        })}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : html`<p>You have no SSH key yet.</p>`
      }
      <h2>Add a key</h2>
      <form method="post" action="/keys">
        ${csrfField(viewer)}
        <label for="key">Your public key (one line of your .pub file)</label>
        <textarea id="key" name="key" rows="3" required></textarea>
        <p><button type="submit">Add key</button></p>
      </form>
      <p><small>Your VMs get a new key when they are next deployed or reset.</small></p>`,
    viewer,
  );
}
