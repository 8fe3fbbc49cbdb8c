/**
 * Where a volume may be mounted inside a runtime: the one rule, shared by the API's schemas, the daemon and the CLI
 * (which checks `-v` before sending; this file loads no zod, so the CLI's start-up stays light), and the one reading
 * of `NAME:PATH[:ro]` (the CLI's `-v`, the dashboard's create form).
 */
import { LIMITS } from "./limits.js";

/** Paths a volume may not cover: the root, the kernel's file systems runc mounts itself, and runta's own files. */
export const SYSTEM_MOUNT_PATHS = ["/", "/proc", "/sys", "/dev", "/.runta"] as const;

/** The longest mount path accepted. */
export const MOUNT_PATH_MAX_LENGTH = 1024;

/**
 * `path` in its normal form (no empty or `.` components, no trailing `/`), or what is wrong with it, said so that a
 * message can append it to the path: absolute, no `..`, no control characters, not over a system path.
 */
export function checkMountPath(path: string): { path: string } | { problem: string } {
  if (!path.startsWith("/")) return { problem: "must be an absolute path inside the runtime (e.g. /work)" };
  if (path.length > MOUNT_PATH_MAX_LENGTH) return { problem: `must be at most ${MOUNT_PATH_MAX_LENGTH} characters` };
  if (/[\x00-\x1f\x7f]/.test(path)) return { problem: "must not contain control characters" };
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return { problem: "must not contain '..' components" };
  const normal = "/" + parts.join("/");
  for (const sys of SYSTEM_MOUNT_PATHS) {
    if (normal === sys || (sys !== "/" && normal.startsWith(sys + "/"))) {
      return { problem: `is ${normal === sys ? "" : "under "}${sys}, which the runtime itself needs; mount the volume elsewhere (e.g. /work or /data)` };
    }
  }
  return { path: normal };
}

/** A volume mount as `NAME:PATH[:ro]` says it. */
export interface VolumeSpec {
  volume: string;
  path: string;
  readOnly: boolean;
}

/**
 * Reads `NAME:PATH[:ro|:rw]` (read-write by default): the mount, or what is wrong (`usage` when it is not of that
 * form at all, for the caller to show its own example). A host path before the colon is docker's bind mount, which
 * runta does not offer (README: Volumes).
 */
export function parseVolumeSpec(spec: string): VolumeSpec | { problem: string; usage?: true } {
  if (spec.startsWith("/") || spec.startsWith(".")) {
    return { problem: "host directories cannot be mounted into runtimes (that would hand them the host's files); create a volume and copy into it: runta volume create data && runta run -v data:/work, then runta cp" };
  }
  const colon = spec.indexOf(":");
  if (colon < 0) return { problem: "not NAME:PATH or NAME:PATH:ro", usage: true };
  const volume = spec.slice(0, colon);
  let rest = spec.slice(colon + 1);
  const mode = /:(ro|rw)$/.exec(rest);
  if (mode) rest = rest.slice(0, -3);
  if (!LIMITS.namePattern.test(volume)) return { problem: `"${volume}" is not a volume name (letters, digits, '_', '.', '-', starting with a letter or digit)` };
  const checked = checkMountPath(rest);
  if ("problem" in checked) return { problem: `${JSON.stringify(rest)} ${checked.problem}` };
  return { volume, path: checked.path, readOnly: mode?.[1] === "ro" };
}
