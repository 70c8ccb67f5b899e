import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ProgressBroadcaster, readOptionShapes, type Reply } from '@lab/commands';
import { toCsv, type ClassGrid } from '@lab/proxmox-sdk';
import { headerLinks, messagePage } from './pages/layout.js';
import {
  CLASS_TOOLS,
  classConfirmPage,
  classListPage,
  commandFormPage,
  deployPage,
  type DeployPageLab,
  progressPage,
  replyPage,
  teacherGridPage,
  type FormField,
  UPLOAD_SUFFIX,
} from './pages/teacher-pages.js';
import { sendPage, type RequestSession, type WebContext } from './web-portal.js';
import { auditPage } from './pages/admin-pages.js';
import { deployTopic, StoreProgressFeed } from './store-progress-feed.js';
import { replyForTheWeb } from './web-reply.js';

const CLASS_ID = /^[a-z][a-z0-9-]{1,30}$/;
const USERNAME = /^[a-z][a-z0-9._-]{1,31}$/;

headerLinks.push({ href: '/classes', label: 'My classes', roles: ['teacher', 'admin'] });

/** The chat-style user id of a signed-in person, as the portal names them to the router. */
const userIdOf = (s: RequestSession): string => `${s.issuer}#${s.subject}`;

/**
 * The teacher pages: classes, the class grid with per-student and selection actions, reset with
 * its confirm step, deploy and scale with the confirm list and live progress (Server-Sent Events
 * from the deployment's typed events), the class tools (schedules, limits, usage and its CSV,
 * publish, versions, invites) and the roster import with its dry run. Everything goes through the
 * command router as platform `web`; the router decides who may do what.
 */
export function registerTeacherRoutes(app: FastifyInstance, context: WebContext): ProgressBroadcaster {
  const broadcaster = new ProgressBroadcaster();
  const portalId = randomUUID();
  /** Where this portal's deployments are shown, kept with them: the feed leaves those to their own events. */
  const notify = { platform: 'web', portal: portalId };
  const feed = new StoreProgressFeed({
    store: context.store,
    broadcaster,
    logger: context.logger,
    clock: context.clock,
    portalId,
  });
  app.addHook('onClose', (_instance, done) => {
    feed.close();
    broadcaster.close();
    done();
  });

  const signedIn = (session: RequestSession | null, reply: FastifyReply): session is RequestSession => {
    if (session) return true;
    void reply.redirect('/login', 303);
    return false;
  };
  const classParam = (raw: string): string | undefined => (CLASS_ID.test(raw) ? raw : undefined);
  const notFound = (reply: FastifyReply, session: RequestSession) =>
    sendPage(
      reply,
      messagePage('Not found', 'There is no such page.', {
        viewer: session.viewer,
        error: true,
        link: { href: '/classes', label: 'My classes' },
      }),
      404,
    );
  const refused = (reply: FastifyReply, session: RequestSession, result: Reply, back = '/classes') =>
    sendPage(
      reply,
      messagePage('Not done', result.text, {
        viewer: session.viewer,
        error: true,
        link: { href: back, label: 'Back' },
      }),
      result.error ? 403 : 200,
    );
  const grid = async (reply: FastifyReply, session: RequestSession, classId: string, notice?: Reply) => {
    const result = await context.invoke(session, 'lab', 'grid', { class: classId });
    if (result.error) return refused(reply, session, result);
    return sendPage(
      reply,
      teacherGridPage(session.viewer, result.data as ClassGrid, notice),
      notice?.error ? 400 : 200,
    );
  };

  app.get('/classes', async (request, reply) => {
    const session = request.webSession;
    if (!signedIn(session, reply)) return reply;
    const result = await context.invoke(session, 'class', 'list');
    const classes = Array.isArray(result.data) ? (result.data as Array<{ id: string; name: string }>) : [];
    return sendPage(reply, classListPage(session.viewer, classes, result), result.error ? 403 : 200);
  });

  app.get<{ Params: { classId: string } }>('/class/:classId', async (request, reply) => {
    const session = request.webSession;
    if (!signedIn(session, reply)) return reply;
    const classId = classParam(request.params.classId);
    return classId ? grid(reply, session, classId) : notFound(reply, session);
  });

  /** Asks the router to reset the students' VMs: its confirm step lists them, Confirm comes back to the grid. */
  const askReset = async (reply: FastifyReply, session: RequestSession, classId: string, students: string[]) => {
    const result = await context.invoke(session, 'lab', 'reset', { class: classId, student: students });
    if (result.confirm?.id)
      return sendPage(reply, classConfirmPage(session.viewer, result, `/class/${classId}/reset/confirm`));
    return grid(reply, session, classId, result);
  };

  app.post<{ Params: { classId: string } }>(
    '/class/:classId/power',
    { config: { repeatable: ['students'] } },
    async (request, reply) => {
      const session = request.webSession!;
      const classId = classParam(request.params.classId);
      if (!classId) return notFound(reply, session);
      const body = request.body as Record<string, unknown>;
      const [rowAction, rowStudent] = typeof body.row === 'string' ? body.row.split(' ') : [];
      const action = rowAction ?? body.selection;
      const picked = rowStudent ? [rowStudent] : ([] as unknown[]).concat(body.students ?? []);
      const students = picked.filter((s): s is string => typeof s === 'string' && USERNAME.test(s));
      if (action !== 'start' && action !== 'stop' && action !== 'restart' && action !== 'reset')
        return grid(reply, session, classId, { text: 'Choose start, stop, restart or reset.', error: true });
      if (students.length === 0)
        return grid(reply, session, classId, { text: 'Tick at least one student first.', error: true });
      if (action === 'reset') return askReset(reply, session, classId, students);
      const result = await context.invoke(session, 'lab', 'power', { action, class: classId, students });
      return grid(reply, session, classId, result);
    },
  );

  app.post<{ Params: { classId: string } }>(
    '/class/:classId/reset',
    { config: { repeatable: ['students'] } },
    async (request, reply) => {
      const session = request.webSession!;
      const classId = classParam(request.params.classId);
      const student = (request.body as Record<string, unknown>).student;
      if (!classId || typeof student !== 'string' || !USERNAME.test(student)) return notFound(reply, session);
      return askReset(reply, session, classId, [student]);
    },
  );

  app.post<{ Params: { classId: string } }>('/class/:classId/reset/confirm', async (request, reply) => {
    const session = request.webSession!;
    const classId = classParam(request.params.classId);
    const id = (request.body as Record<string, unknown>).id;
    if (!classId || typeof id !== 'string') return notFound(reply, session);
    const result = await context.confirm(session, id, false);
    return grid(reply, session, classId, { ...result, text: resetOutcome(result) });
  });

  app.get<{ Params: { classId: string } }>('/class/:classId/deploy', async (request, reply) => {
    const session = request.webSession;
    if (!signedIn(session, reply)) return reply;
    const classId = classParam(request.params.classId);
    if (!classId) return notFound(reply, session);
    const result = await context.invoke(session, 'lab', 'grid', { class: classId });
    if (result.error) return refused(reply, session, result);
    // A seat is a student with a VM (a class with roles has a row per VM of a student).
    const seats = new Set((result.data as ClassGrid).rows.filter((r) => r.vm).map((r) => r.personId)).size;
    // The class's roles and networks, through the router as `/class lab` answers them.
    const lab = await context.invoke(session, 'class', 'lab', { class: classId });
    return sendPage(
      reply,
      deployPage(session.viewer, classId, seats, lab.error ? null : (lab.data as DeployPageLab | null)),
    );
  });

  /**
   * Runs a deployment in the background with its progress going to the class's SSE topic, and
   * answers with the confirm list (if the command asks for one), the refusal, or the progress page.
   */
  const startDeploy = async (
    reply: FastifyReply,
    session: RequestSession,
    classId: string,
    run: (onProgress: (u: Parameters<ProgressBroadcaster['publish']>[1]) => void) => Promise<Reply>,
  ) => {
    const topic = deployTopic(classId);
    let started!: () => void;
    const firstStep = new Promise<'progress'>((resolve) => (started = () => resolve('progress')));
    const finished = run((update) => {
      broadcaster.publish(topic, update);
      started();
    });
    const first = await Promise.race([firstStep, finished]);
    if (first !== 'progress') {
      if (first.confirm?.id)
        return sendPage(reply, classConfirmPage(session.viewer, first, `/class/${classId}/deploy/confirm`));
      return sendPage(
        reply,
        replyPage(session.viewer, `Deploy ${classId}`, first, {
          href: `/class/${classId}`,
          label: `Back to ${classId}`,
        }),
        first.error ? 400 : 200,
      );
    }
    void finished
      .then((result) => broadcaster.finish(topic, { text: result.text, error: result.error === true }))
      .catch((error: unknown) => {
        context.logger.error('web deployment failed', { classId, error });
        broadcaster.finish(topic, { text: 'Something went wrong on our side; the error was logged.', error: true });
      });
    return reply.redirect(`/class/${classId}/progress`, 303);
  };

  app.post<{ Params: { classId: string } }>('/class/:classId/deploy', async (request, reply) => {
    const session = request.webSession!;
    const classId = classParam(request.params.classId);
    if (!classId) return notFound(reply, session);
    const body = request.body as Record<string, unknown>;
    const template = typeof body.template === 'string' && body.template.trim() ? body.template.trim() : undefined;
    return startDeploy(reply, session, classId, async (onProgress) =>
      replyForTheWeb(
        context.router,
        'lab',
        'deploy',
        await context.router.invoke({
          platform: 'web',
          userId: userIdOf(session),
          command: 'lab',
          subcommand: 'deploy',
          options: { class: classId, count: body.count, ...(template ? { template } : {}) },
          onProgress,
          notify,
        }),
      ),
    );
  });

  app.post<{ Params: { classId: string } }>('/class/:classId/deploy/confirm', async (request, reply) => {
    const session = request.webSession!;
    const classId = classParam(request.params.classId);
    const id = (request.body as Record<string, unknown>).id;
    if (!classId || typeof id !== 'string') return notFound(reply, session);
    return startDeploy(reply, session, classId, async (onProgress) => {
      const prepared = await context.router.confirm({
        id,
        platform: 'web',
        userId: userIdOf(session),
        onProgress,
        notify,
      });
      return prepared.reply ?? prepared.run();
    });
  });

  app.get<{ Params: { classId: string } }>('/class/:classId/progress', async (request, reply) => {
    const session = request.webSession;
    if (!signedIn(session, reply)) return reply;
    const classId = classParam(request.params.classId);
    if (!classId) return notFound(reply, session);
    const allowed = await context.invoke(session, 'class', 'show', { class: classId });
    if (allowed.error) return refused(reply, session, allowed);
    const text = (await feed.currentText(classId)) ?? broadcaster.lastText(deployTopic(classId));
    return sendPage(reply, progressPage(session.viewer, classId, text));
  });

  app.get<{ Params: { classId: string } }>('/class/:classId/progress/events', async (request, reply) => {
    const session = request.webSession;
    const classId = classParam(request.params.classId);
    if (!session || !classId) return reply.code(session ? 404 : 401).send();
    const allowed = await context.invoke(session, 'class', 'show', { class: classId });
    if (allowed.error) return reply.code(403).send();
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    const unwatch = await feed.watch(classId);
    if (reply.raw.destroyed) unwatch();
    else {
      reply.raw.once('close', unwatch);
      broadcaster.subscribe(deployTopic(classId), reply.raw);
    }
    return reply;
  });

  app.get<{ Params: { classId: string } }>('/class/:classId/usage.csv', async (request, reply) => {
    const session = request.webSession;
    if (!signedIn(session, reply)) return reply;
    const classId = classParam(request.params.classId);
    if (!classId) return notFound(reply, session);
    const result = await context.invoke(session, 'lab', 'usage', { class: classId });
    if (result.error) return refused(reply, session, result);
    const rows = (result.data ?? []) as Array<{
      username: string | null;
      usedMs: number;
      leftMs: number | null;
      running: number;
      topUpHours: number;
      runMs: number;
      cost: number | null;
    }>;
    const hours = (ms: number | null) => (ms === null ? '' : (ms / 3_600_000).toFixed(2));
    const csv = toCsv([
      ['username', 'hours_used_outside_sessions', 'hours_left', 'running', 'top_up_hours', 'hours_total', 'cost'],
      ...rows.map((r) => [
        r.username ?? '',
        hours(r.usedMs),
        hours(r.leftMs),
        r.running,
        r.topUpHours.toFixed(2),
        hours(r.runMs),
        r.cost === null ? '' : r.cost.toFixed(2),
      ]),
    ]);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${classId}-usage.csv"`)
      .send(csv);
  });

  // A class's audit log for its teachers, page by page (the router decides who may read it).
  app.get<{ Params: { classId: string }; Querystring: Record<string, string | undefined> }>(
    '/class/:classId/audit',
    async (request, reply) => {
      const session = request.webSession;
      if (!signedIn(session, reply)) return reply;
      const classId = classParam(request.params.classId);
      if (!classId) return notFound(reply, session);
      const filters = Object.fromEntries(
        (['person', 'action', 'hours', 'page'] as const).flatMap((k) => {
          const v = request.query[k]?.trim();
          return v ? [[k, v]] : [];
        }),
      );
      const result = await context.invoke(session, 'lab', 'audit', { ...filters, class: classId });
      if (result.error && /is for|do not teach|you teach/.test(result.text)) return refused(reply, session, result);
      return sendPage(reply, auditPage(session.viewer, filters, result, { path: `/class/${classId}/audit`, classId }));
    },
  );

  const tool = (
    sub: string,
    command: string,
    title: (classId: string) => string,
    fixed: (classId: string) => Record<string, unknown>,
    /** The subcommand whose reply the page shows above the form (`class lab` for `set-lab`); `sub` itself by default. */
    showSub = sub,
  ) => {
    const fields = formFields(context, command, sub, Object.keys(fixed('x')));
    const path = sub === 'import' ? 'roster' : sub;
    app.get<{ Params: { classId: string } }>(`/class/:classId/${path}`, async (request, reply) => {
      const session = request.webSession;
      if (!signedIn(session, reply)) return reply;
      const classId = classParam(request.params.classId);
      if (!classId) return notFound(reply, session);
      const shown =
        sub === 'import'
          ? undefined
          : await context.invoke(session, command, showSub, {
              ...fixed(classId),
              ...(sub === 'schedule' ? { action: 'list' } : {}),
            });
      if (shown?.error && /is for|do not teach|you teach/.test(shown.text)) return refused(reply, session, shown);
      return sendPage(
        reply,
        commandFormPage(session.viewer, title(classId), `/class/${classId}/${path}`, fields, shown, {
          href: `/class/${classId}`,
          label: `Back to ${classId}`,
        }),
      );
    });
    app.post<{ Params: { classId: string } }>(`/class/:classId/${path}`, async (request, reply) => {
      const session = request.webSession!;
      const classId = classParam(request.params.classId);
      if (!classId) return notFound(reply, session);
      const options = formOptions(fields, request.body as Record<string, unknown>);
      const result = await context.invoke(session, command, sub, { ...options, ...fixed(classId) });
      if (result.confirm?.id) return sendPage(reply, classConfirmPage(session.viewer, result, '/confirm'));
      return sendPage(
        reply,
        commandFormPage(session.viewer, title(classId), `/class/${classId}/${path}`, fields, result, {
          href: `/class/${classId}`,
          label: `Back to ${classId}`,
        }),
        result.error ? 400 : 200,
      );
    });
  };
  for (const t of CLASS_TOOLS)
    tool(
      t.sub,
      'lab',
      (c) => `${t.label} of ${c}`,
      (c) => ({ class: c }),
    );
  // The class's lab definition: the VMs (roles) each student gets and the network choice.
  tool(
    'set-lab',
    'class',
    (c) => `VMs per student of ${c}`,
    (c) => ({ class: c }),
    'lab',
  );
  tool(
    'import',
    'people',
    (c) => `Roster of ${c}`,
    () => ({}),
  );
  return broadcaster;
}

/** A reset's outcome, one line per student: re-created, or why not; a refusal as it is. */
function resetOutcome(result: Reply): string {
  const data = result.data as
    | {
        base?: string;
        vms?: Array<{ name: string; vmid: number; owner: string | null }>;
        summary?: { failed?: Array<{ name: string; error: string }> };
      }
    | undefined;
  if (!data?.vms || !data.summary) return result.text;
  const failed = new Map((data.summary.failed ?? []).map((f) => [f.name, f.error]));
  const unexplained = result.error === true && !data.vms.some((vm) => failed.has(vm.name));
  const lines = data.vms.map((vm) => {
    const who = vm.owner ?? `VM ${vm.vmid}`;
    const error = failed.get(vm.name);
    return error === undefined
      ? `${who}: ${vm.name} (${vm.vmid}) was re-created from ${data.base ?? 'the class template'}.`
      : `${who}: ${vm.name} (${vm.vmid}) was not re-created — ${error}`;
  });
  return unexplained ? result.text : lines.join('\n');
}

/** The form fields of a subcommand's options (zod), leaving out those the page fixes. */
function formFields(context: WebContext, command: string, sub: string, fixed: readonly string[]): FormField[] {
  const subcommand = context.router.plugins.get(command)?.subcommands[sub];
  if (!subcommand) return [];
  return readOptionShapes(subcommand)
    .filter((option) => !fixed.includes(option.name))
    .map((option): FormField => {
      const long = subcommand.fileOptions?.includes(option.name) === true;
      return {
        name: option.name,
        label: option.ownDescription || option.name,
        required: option.required,
        kind: option.kind === 'boolean' ? 'flag' : option.choices ? 'choice' : long ? 'long' : 'text',
        ...(option.choices ? { choices: option.choices } : {}),
      };
    });
}

/** The options a submitted form gives: flags ticked, other fields as typed (empty ones left out). */
function formOptions(fields: readonly FormField[], body: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const f of fields) {
    const uploaded = f.kind === 'long' ? body[`${f.name}${UPLOAD_SUFFIX}`] : undefined;
    const value = Buffer.isBuffer(uploaded) && uploaded.length > 0 ? uploaded.toString('utf8') : body[f.name];
    if (f.kind === 'flag') {
      if (value !== undefined) options[f.name] = true;
    } else if (typeof value === 'string' && value.trim() !== '')
      options[f.name] = f.kind === 'long' ? value : value.trim();
  }
  return options;
}
