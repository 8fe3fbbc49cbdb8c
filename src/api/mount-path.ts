/**
 * Where a volume may be mounted inside a runtime: the one rule, shared by the API's schemas, the daemon and the CLI
 * (which checks `-v` before sending; this file loads no zod, so the CLI's start-up stays light).
 */

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
