import { userInfo } from 'node:os';

/** The OS user running `lab`: the operator's name in the audit log (`cli:<name>`). */
export function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'operator';
  }
}
