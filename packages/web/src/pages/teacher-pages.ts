import type { Reply } from '@lab/commands';
import { formatHours, formatLocalTime, type ClassGrid, type ClassGridRow } from '@lab/proxmox-sdk';
import { html, type SafeHtml } from '../html.js';
import { buttonForm, csrfField, page, type PageViewer } from './layout.js';

/** The class pages a teacher reaches from the grid, with the `/lab` subcommand each one runs. */
export const CLASS_TOOLS = [
  { sub: 'schedule', label: 'Schedules' },
  { sub: 'limits', label: 'Limits' },
  { sub: 'usage', label: 'Usage' },
  { sub: 'publish', label: 'Publish' },
  { sub: 'versions', label: 'Versions' },
  { sub: 'invite', label: 'Invites' },
] as const;

const CAUSE: Record<string, string> = {
  schedule: 'the schedule',
  idle: 'idle stop',
  quota: 'quota',
  term: 'the end of term',
  teacher: 'a teacher',
  admin: 'an admin',
  student: 'the student',
};

const ACTION: Record<string, string> = {
  'vm.start': 'started',
  'vm.shutdown': 'shut down',
  'vm.stop': 'stopped',
  'vm.reboot': 'restarted',
  'vm.keep': 'kept running',
};

/** The classes the teacher may open (the `data`-less text of `/class list`, one line each). */
export function classListPage(
  viewer: PageViewer,
  classes: ReadonlyArray<{ id: string; name: string }>,
  reply: Reply,
): string {
  return page(
    'My classes',
    classes.length
      ? html`<ul>
          ${classes.map((c) => html`<li><a href="/class/${c.id}">${c.id}</a> — ${c.name}</li>`)}
        </ul>`
      : html`<p>${reply.error ? reply.text : 'You teach no class yet.'}</p>`,
    viewer,
  );
}

function lastAction(row: ClassGridRow, timezone: string): SafeHtml | string {
  const last = row.lastAction;
  if (!last) return '—';
  return html`${ACTION[last.action] ?? last.action} by ${CAUSE[last.cause] ?? last.actor}
    <small>(${formatLocalTime(last.at, timezone)})</small
    >${last.reason ? html`<br /><small>${last.reason}</small>` : ''}`;
}

/**
 * The class grid: every student with their VM, state, readiness, idle time, hours this week and
 * left, and the last action with its cause; times in the class's zone. One form: per-row buttons
 * (start or stop, reset) and, for the ticked rows, start, stop, restart or reset (which asks first).
 */
export function teacherGridPage(viewer: PageViewer, grid: ClassGrid, notice?: Reply): string {
  const tz = grid.timezone;
  const rows = grid.rows.map((r) => {
    const id = `pick-${r.username}-${r.vm?.vmid ?? 'none'}`;
    const running = r.vm?.status === 'running';
    return html`<tr>
      <td>
        ${
          r.vm
            ? html`<input type="checkbox" id="${id}" name="students" value="${r.username}" /><label
                  class="skip"
                  for="${id}"
                  >Select ${r.username}</label
                >`
            : ''
        }
      </td>
      <th scope="row">
        ${r.displayName && r.displayName !== r.username ? html`${r.displayName} <small>(${r.username})</small>` : r.username}
      </th>
      <td>${r.vm ? html`${r.vm.name} <small>(${r.vm.vmid})</small>` : 'no VM yet'}</td>
      <td>${r.vm?.status ?? '—'}</td>
      <td>${r.vm ? (r.vm.ready ? 'ready' : running ? 'not yet' : 'no') : '—'}</td>
      <td>${r.idleSince === null ? '—' : formatLocalTime(r.idleSince, tz)}</td>
      <td>${formatHours(r.weekMs)}</td>
      <td>${r.leftMs === null ? 'no quota' : formatHours(r.leftMs)}</td>
      <td>${lastAction(r, tz)}</td>
      <td class="actions">
        ${
          r.vm
            ? html`<button
                  type="submit"
                  class="secondary"
                  name="row"
                  value="${running ? 'stop' : 'start'} ${r.username}"
                >
                  ${running ? 'Stop' : 'Start'}<span class="skip"> ${r.username}</span></button
                ><button
                  type="submit"
                  class="danger"
                  formaction="/class/${grid.classId}/reset"
                  name="student"
                  value="${r.username}"
                >
                  Reset…<span class="skip"> ${r.username}</span>
                </button>`
            : ''
        }
      </td>
    </tr>`;
  });
  const running = grid.rows.filter((r) => r.vm?.status === 'running').length;
  return page(
    `${grid.classId} — ${grid.name}`,
    html`${notice ? html`<p class="notice${notice.error ? ' error' : ' ok'}" role="status">${lines(notice.text)}</p>` : ''}
      <nav aria-label="Class" class="actions">
        <a class="button" href="/class/${grid.classId}/deploy">Deploy or scale</a>
        ${CLASS_TOOLS.map((t) => html`<a class="button secondary" href="/class/${grid.classId}/${t.sub}">${t.label}</a>`)}
        <a class="button secondary" href="/class/${grid.classId}/set-lab">VMs per student</a>
        <a class="button secondary" href="/class/${grid.classId}/usage.csv" download>Usage CSV</a>
        <a class="button secondary" href="/class/${grid.classId}/audit">Audit log</a>
        ${viewer.role === 'admin' ? html`<a class="button secondary" href="/class/${grid.classId}/roster">Roster</a>` : ''}
      </nav>
      <p>
        ${grid.rows.length} row(s), ${running} running. Times are in ${tz}; the week began
        ${formatLocalTime(grid.weekStartsAt, tz)}.
      </p>
      <form method="post" action="/class/${grid.classId}/power">
        ${csrfField(viewer)}
        <div class="table-wrap">
          <table>
            <caption class="skip">
              Students of ${grid.classId} and their VMs
            </caption>
            <thead>
              <tr>
                <th scope="col"><span class="skip">Select</span></th>
                <th scope="col">Student</th>
                <th scope="col">VM</th>
                <th scope="col">State</th>
                <th scope="col">Ready</th>
                <th scope="col">Idle since</th>
                <th scope="col">Hours this week</th>
                <th scope="col">Hours left</th>
                <th scope="col">Last action</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              ${rows}
            </tbody>
          </table>
        </div>
        <fieldset class="actions">
          <legend>The ticked students' VMs</legend>
          <button type="submit" name="selection" value="start">Start</button>
          <button type="submit" class="secondary" name="selection" value="stop">Stop</button>
          <button type="submit" class="secondary" name="selection" value="restart">Restart</button>
          <button type="submit" class="danger" name="selection" value="reset">Reset…</button>
        </fieldset>
      </form>`,
    viewer,
  );
}

/** A page that shows a command's reply: its sentence and fields, and the way back to the class. */
export function replyPage(
  viewer: PageViewer,
  title: string,
  reply: Reply,
  back: { href: string; label: string },
): string {
  return page(
    title,
    html`<p class="notice${reply.error ? ' error' : ' ok'}" role="${reply.error ? 'alert' : 'status'}">
        ${lines(reply.text)}
      </p>
      ${
        reply.fields?.length
          ? html`<dl>
              ${reply.fields.map(
                (f) =>
                  html`<dt>${f.label}</dt>
                    <dd>${f.value}</dd>`,
              )}
            </dl>`
          : ''
      }
      <p><a href="${back.href}">${back.label}</a></p>`,
    viewer,
  );
}

/** The confirm step of a class action: the same list as chat, then Confirm or Cancel. */
export function classConfirmPage(viewer: PageViewer, reply: Reply, confirmAction: string): string {
  const id = reply.confirm?.id ?? '';
  return page(
    'Please confirm',
    html`<p>${lines(reply.text)}</p>
      <p class="notice error" role="alert">${reply.confirm?.prompt ?? ''}</p>
      <div class="actions">
        ${buttonForm(viewer, confirmAction, reply.confirm?.action ?? 'Confirm', { style: 'danger', fields: { id } })}
        ${buttonForm(viewer, '/cancel', 'Cancel', { style: 'secondary', fields: { id } })}
      </div>`,
    viewer,
  );
}

/** What the deploy page shows of a class with several VMs per student (`/class lab`'s data). */
export interface DeployPageLab {
  roles: ReadonlyArray<{ name: string; template: string; cores: number | null; memory: number | null }>;
  network: { mode: 'bridge' | 'class' | 'student'; zone: string | null; internet: 'snat' | 'none' };
}

const NETWORK_TEXT = {
  bridge: 'each template’s own bridge',
  class: 'one private network for the class (its teacher VMs on it too)',
  student: 'one private network per seated student, and one for the teacher VMs',
} as const;

/**
 * Deploy or scale: how many seats and which template; the confirm list comes after. A class with
 * several VMs per student shows its plan per role (template, size, the VMs each seat gets) and
 * its networks, and takes no template (each role has its own).
 */
export function deployPage(viewer: PageViewer, classId: string, seats: number, lab?: DeployPageLab | null): string {
  const roles = lab
    ? html`<section aria-labelledby="plan-roles">
        <h2 id="plan-roles">Per seat: ${lab.roles.length} VMs, one per role</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Template</th>
                <th scope="col">Cores</th>
                <th scope="col">Memory</th>
                <th scope="col">A seat’s VM</th>
                <th scope="col">Teacher VM</th>
              </tr>
            </thead>
            <tbody>
              ${lab.roles.map(
                (r) =>
                  html`<tr class="role" data-role="${r.name}">
                    <td>${r.name}</td>
                    <td>${r.template}</td>
                    <td>${r.cores ?? 'template’s'}</td>
                    <td>${r.memory === null ? 'template’s' : `${r.memory} MiB`}</td>
                    <td>${classId}-&lt;student&gt;-${r.name}</td>
                    <td>${classId}-${r.name}-teacher</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>
        <p>
          Networks:
          ${NETWORK_TEXT[lab.network.mode]}${
            lab.network.mode !== 'bridge' && lab.network.zone ? html` in zone ${lab.network.zone}` : ''
          }${
            lab.network.mode !== 'bridge'
              ? lab.network.internet === 'snat'
                ? ', with internet (SNAT)'
                : ', no internet'
              : ''
          }.
          Each role deploys in this order, one after the other; ${seats} seat(s) now means ${seats * lab.roles.length}
          student VM(s).
        </p>
      </section>`
    : '';
  return page(
    `Deploy ${classId}`,
    html`${roles}
      <form method="post" action="/class/${classId}/deploy">
        ${csrfField(viewer)}
        <label for="count">Seats (students with ${lab ? 'a set of VMs' : 'a VM'})</label>
        <input id="count" name="count" type="number" min="0" max="500" value="${seats}" required />
        ${
          lab
            ? html`<p>
                Each role deploys from its own template; change them with
                <a href="/class/${classId}/set-lab">the lab definition</a>.
              </p>`
            : html`<label for="template">Template (leave empty for the class template)</label>
                <input id="template" name="template" type="text" />`
        }
        <p><button type="submit">Deploy</button></p>
      </form>
      <p>If the deployment deletes VMs, you see the list per role and confirm first.</p>
      <p><a href="/class/${classId}">Back to ${classId}</a></p>`,
    viewer,
  );
}

/**
 * A deployment's progress: the last update as text (readable without JavaScript: reload), kept live
 * by `/assets/progress.js` over Server-Sent Events.
 */
export function progressPage(viewer: PageViewer, classId: string, text: string | undefined): string {
  return page(
    `Deploying ${classId}`,
    html`<pre id="progress" aria-live="polite" data-events="/class/${classId}/progress/events">
${text ?? 'Waiting for the first step…'}</pre>
      <p id="progress-done" hidden></p>
      <noscript><p>Reload this page to see the latest step.</p></noscript>
      <p><a href="/class/${classId}">Back to ${classId}</a></p>
      <script src="/assets/progress.js" defer></script>`,
    viewer,
  );
}

/** A long field's file input is named `<field>File`; an uploaded file stands in for the pasted text. */
export const UPLOAD_SUFFIX = 'File';

/** One field of a generated command form. */
export interface FormField {
  name: string;
  label: string;
  kind: 'text' | 'flag' | 'choice' | 'long';
  choices?: readonly string[];
  required: boolean;
}

/** A class tool (schedules, limits, …): the command's last answer, then its options as a form. */
export function commandFormPage(
  viewer: PageViewer,
  title: string,
  action: string,
  fields: readonly FormField[],
  shown: Reply | undefined,
  back: { href: string; label: string },
): string {
  const input = (f: FormField): SafeHtml => {
    const id = `f-${f.name}`;
    if (f.kind === 'flag')
      return html`<p><input type="checkbox" id="${id}" name="${f.name}" /> <label for="${id}">${f.label}</label></p>`;
    const label = html`<label for="${id}">${f.label}${f.required ? '' : ' (optional)'}</label>`;
    if (f.kind === 'choice')
      return html`${label}<select id="${id}" name="${f.name}" ${f.required ? 'required' : ''}>
          ${f.required ? '' : html`<option value=""></option>`}${(f.choices ?? []).map((c) => html`<option>${c}</option>`)}
        </select>`;
    if (f.kind === 'long')
      return html`<label for="${id}-file">${f.label}: a CSV file</label>
        <input id="${id}-file" name="${f.name}${UPLOAD_SUFFIX}" type="file" accept=".csv,text/csv" />
        <label for="${id}">or paste it here</label><textarea id="${id}" name="${f.name}" rows="8"></textarea>`;
    return html`${label}<input id="${id}" name="${f.name}" type="text" ${f.required ? 'required' : ''} />`;
  };
  return page(
    title,
    html`${shown ? html`<p class="notice${shown.error ? ' error' : ''}" role="status">${lines(shown.text)}</p>` : ''}
      <form
        method="post"
        action="${action}"
        class="stack"
        ${fields.some((f) => f.kind === 'long') ? html`enctype="multipart/form-data"` : ''}
      >
        ${csrfField(viewer)} ${fields.map(input)}
        <p><button type="submit">Run</button></p>
      </form>
      <p><a href="${back.href}">${back.label}</a></p>`,
    viewer,
  );
}

/** Text of several lines, with line breaks kept. */
export function lines(text: string): SafeHtml {
  return html`${text.split('\n').map((line, i) => html`${i ? html`<br />` : ''}${line}`)}`;
}
