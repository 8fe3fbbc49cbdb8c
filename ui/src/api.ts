/**
 * The dashboard's one way to call the daemon: the same REST API as the CLI, authenticated by the session cookie the
 * browser sends by itself (HttpOnly: this code never sees it), plus the session's CSRF token on state-changing calls.
 */
import type { Image } from "../../src/api/images.js";
import type { Runtime } from "../../src/api/schemas.js";

export type { Image, Runtime };

/** An API error as the daemon reported it: code, message and, for validation failures, the issues per field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: { field?: string; issues?: { field: string; message: string }[] },
  ) {
    super(message);
  }
}

let csrfToken = "";
/** Called when any call comes back 401: the session has expired, was logged out or the token rotated. */
let onSessionEnded: () => void = () => undefined;

/** Registers what to do when the session ends. */
export function whenSessionEnds(cb: () => void): void {
  onSessionEnded = cb;
}

/** Loads the session (and its CSRF token); false when there is none. */
export async function loadSession(): Promise<boolean> {
  const res = await fetch("/ui/session", { headers: { Accept: "application/json" } });
  if (res.status === 401) return false;
  if (!res.ok) throw new ApiError(res.status, "internal", `the daemon answered HTTP ${res.status} for the session`);
  csrfToken = ((await res.json()) as { data: { csrf_token: string } }).data.csrf_token;
  return true;
}

interface Envelope<T> {
  data: T;
  pagination?: { next_cursor: string | null; has_more: boolean };
}

/** Calls the API; resolves with the whole `{data, pagination?}` envelope, throws {@link ApiError}. */
async function call<T>(method: string, path: string, body?: unknown): Promise<Envelope<T>> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (method !== "GET") headers["X-Runta-CSRF"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "unavailable", "cannot reach the runta daemon: is it still running?");
  }
  const parsed = (await res.json().catch(() => null)) as (Envelope<T> & { error?: { code: string; message: string; details?: ApiError["details"] } }) | null;
  if (res.ok && parsed) return parsed;
  if (res.status === 401) onSessionEnded();
  const e = parsed?.error;
  throw new ApiError(res.status, e?.code ?? "internal", e?.message ?? `the daemon answered HTTP ${res.status}`, e?.details);
}

/** Calls the API; resolves with `data`, throws {@link ApiError}. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await call<T>(method, path, body)).data;
}

/** Every runtime (with current usage when `usage`), following cursors (pages of 1000, the API's largest). */
export async function listRuntimes(usage: boolean): Promise<Runtime[]> {
  const all: Runtime[] = [];
  let after = "";
  for (;;) {
    const page = await call<Runtime[]>("GET", `/v1/runtimes?usage=${usage}&limit=1000${after ? `&after=${encodeURIComponent(after)}` : ""}`);
    all.push(...page.data);
    if (!page.pagination?.has_more || !page.pagination.next_cursor) return all;
    after = page.pagination.next_cursor;
  }
}

/** The path of one runtime. */
export const rtPath = (ref: string) => `/v1/runtimes/${encodeURIComponent(ref)}`;

/** Ends the session on the daemon. */
export async function logout(): Promise<void> {
  await fetch("/ui/logout", { method: "POST", headers: { "X-Runta-CSRF": csrfToken } });
}
