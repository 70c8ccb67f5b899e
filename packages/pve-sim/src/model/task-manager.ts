import type { SimTime } from '../sim-time.js';
import type { SimTask } from './types.js';

const hex = (n: number, width: number): string => n.toString(16).toUpperCase().padStart(width, '0');

/** Creates PVE tasks with real UPIDs, runs their workers and keeps their logs. */
export class TaskManager {
  readonly tasks = new Map<string, SimTask>();
  #pid = 0x1000;

  constructor(private readonly time: SimTime) {}

  /**
   * Starts a task of `type` on `node` for object `id` and runs `worker` in the background.
   * The worker's thrown message becomes `TASK ERROR: <message>`; a normal end `TASK OK`, or
   * `TASK WARNINGS: N` when it logged N `WARN: …` lines, by `warn` or as pending warnings
   * (pve-common `src/PVE/RESTEnvironment.pm` `log_warn` counts them, `fork_worker` ends the log
   * with the count; a plain Perl `warn` is only a log line).
   */
  start(
    node: string,
    type: string,
    id: string,
    user: string,
    worker: (log: (line: string) => void, warn: (message: string) => void) => Promise<void>,
  ): SimTask {
    const pid = ++this.#pid;
    const starttime = this.time.nowSeconds();
    const pstart = 0x10000000 + (pid % 0xffff) * 7;
    const upid = `UPID:${node}:${hex(pid, 8)}:${hex(pstart, 8)}:${hex(starttime, 8)}:${type}:${id}:${user}:`;
    const task: SimTask = { upid, node, type, id, user, pid, pstart, starttime, status: 'running', log: [] };
    this.tasks.set(upid, task);
    const log = (line: string): void => {
      task.log.push(line);
    };
    const warn = (message: string): void => {
      task.log.push(`WARN: ${message}`);
    };
    void Promise.resolve()
      .then(() => worker(log, warn))
      .then(
        () => {
          for (const line of task.pendingWarnings ?? []) log(`WARN: ${line}`);
          delete task.pendingWarnings;
          const warnings = task.log.filter((l) => l.startsWith('WARN: ')).length;
          if (warnings) this.#finish(task, `WARNINGS: ${warnings}`, `TASK WARNINGS: ${warnings}`);
          else this.#finish(task, 'OK', 'TASK OK');
        },
        (err: unknown) => {
          const message = err instanceof Error ? err.message : String(err);
          this.#finish(task, message, `TASK ERROR: ${message}`);
        },
      );
    return task;
  }

  #finish(task: SimTask, exitstatus: string, lastLine: string): void {
    task.log.push(lastLine);
    task.status = 'stopped';
    task.exitstatus = exitstatus;
    task.endtime = this.time.nowSeconds();
  }

  /** Tasks still running. */
  running(): SimTask[] {
    return [...this.tasks.values()].filter((t) => t.status === 'running');
  }
}
