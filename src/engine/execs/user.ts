/**
 * `exec -u USER[:GROUP]`: names and numbers resolved against the runtime's own /etc/passwd and /etc/group, as
 * Docker does (runc takes numbers only). The files are read from the runtime's root on the host, so they are opened
 * without following symlinks: a runtime must not be able to point its /etc/passwd at a host file.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { errors } from "../../api/index.js";

/** What the OCI process needs: uid, gid, supplementary groups, and the user's home (for HOME and the default cwd). */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

/** One `name:x:uid:gid:…:home:shell` line of /etc/passwd. */
interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Parses /etc/passwd; malformed lines are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! });
  }
  return out;
}

/** Parses /etc/group into name, gid and members; malformed lines are skipped. */
export function parseGroup(text: string): Array<{ name: string; gid: number; members: string[] }> {
  const out: Array<{ name: string; gid: number; members: string[] }> = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || !/^\d+$/.test(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").filter(Boolean) });
  }
  return out;
}

/**
 * Resolves `spec` with the runtime's passwd and group contents. A number with no passwd entry is taken as is with
 * gid 0 and home `/` (Docker's rule); an unknown name is an `invalid_argument` naming the runtime.
 */
export function resolveUser(spec: string, passwd: string, group: string, runtime: string): ResolvedUser {
  const [userPart, groupPart] = spec.split(":") as [string, string | undefined];
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  const numeric = /^\d+$/.test(userPart);
  const entry = numeric ? users.find((u) => u.uid === Number(userPart)) : users.find((u) => u.name === userPart);
  if (!entry && !numeric) {
    throw errors.invalid(`user "${userPart}" does not exist in runtime "${runtime}" (not in its /etc/passwd); pass a user it has, or a uid`, {
      field: "user",
    });
  }
  const uid = entry?.uid ?? Number(userPart);
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw errors.invalid(`group "${groupPart}" does not exist in runtime "${runtime}" (not in its /etc/group)`, { field: "user" });
      gid = g.gid;
    }
  }
  if (uid > 0xfffffffe || gid > 0xfffffffe) throw errors.invalid(`user ${spec}: ids must be below 4294967295`, { field: "user" });
  // Supplementary groups of a named user, as login(1) would set them; an explicit group replaces only the primary.
  const additionalGids = entry ? groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid) : [];
  return { uid, gid, additionalGids, home: entry?.home || "/" };
}

/** Reads `<rootfs>/etc/<name>` without following a symlink at `etc` or at the file; "" when it is missing or refused. */
export async function readRootfsEtc(rootfs: string, name: "passwd" | "group"): Promise<string> {
  let dir;
  try {
    dir = await open(join(rootfs, "etc"), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch {
    return "";
  }
  try {
    // /proc/self/fd/<n>/<name> resolves relative to the directory we opened, never through a symlinked /etc.
    const file = await open(`/proc/self/fd/${dir.fd}/${name}`, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const st = await file.stat();
      if (!st.isFile() || st.size > 4 * 1024 * 1024) return "";
      return await file.readFile("utf8");
    } finally {
      await file.close();
    }
  } catch {
    return "";
  } finally {
    await dir.close();
  }
}
