import { InvalidUpidError } from '../errors/pve-errors.js';

/** The parts of a PVE task id (`UPID:node:pid:pstart:starttime:type:id:user:`). */
export interface Upid {
  raw: string;
  node: string;
  pid: number;
  pstart: number;
  /** Unix seconds. */
  starttime: number;
  /** Task type, e.g. `qmclone`, `qmstart`. */
  type: string;
  /** The object id; for `qmclone` this is the SOURCE vmid, not the new one. */
  id: string;
  /** `user@realm` or a token `user@realm!tokenid`. */
  user: string;
}

const UPID_PATTERN =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

/** Parses a UPID, or throws `InvalidUpidError`. Accepts the 9-hex-digit pstart PVE also emits. */
export function parseUpid(upid: string): Upid {
  const m = UPID_PATTERN.exec(upid);
  if (!m) throw new InvalidUpidError(upid);
  return {
    raw: upid,
    node: m[1]!,
    pid: Number.parseInt(m[3]!, 16),
    pstart: Number.parseInt(m[4]!, 16),
    starttime: Number.parseInt(m[5]!, 16),
    type: m[6]!,
    id: m[7]!,
    user: m[8]!,
  };
}

/** Whether a task `exitstatus` means success (`OK`, or `WARNINGS: N`). */
export function isTaskSuccess(exitstatus: string): boolean {
  return exitstatus === 'OK' || /^WARNINGS: \d+$/.test(exitstatus);
}
