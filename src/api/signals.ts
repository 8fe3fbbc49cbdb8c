/**
 * Signals a client may send to an exec (`POST …/execs/{id}/signal`, `runta kill -s`). No zod here: the CLI
 * validates `-s` with it before any request.
 */

/** Allowed signal names (without SIG) and their Linux numbers. */
export const EXEC_SIGNAL_NUMBERS = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  KILL: 9,
  USR1: 10,
  USR2: 12,
  ALRM: 14,
  TERM: 15,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  WINCH: 28,
} as const;

export type ExecSignal = keyof typeof EXEC_SIGNAL_NUMBERS;
export const EXEC_SIGNALS = Object.keys(EXEC_SIGNAL_NUMBERS) as ExecSignal[];

/** `TERM`, `SIGTERM`, `term` or `15` → `TERM`; null when it is not an allowed signal. */
export function parseExecSignal(text: string): ExecSignal | null {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const hit = Object.entries(EXEC_SIGNAL_NUMBERS).find(([, n]) => n === Number(t));
    return hit ? (hit[0] as ExecSignal) : null;
  }
  const name = t.replace(/^SIG/, "");
  return name in EXEC_SIGNAL_NUMBERS ? (name as ExecSignal) : null;
}
