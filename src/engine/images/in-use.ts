/**
 * Who uses an image: the runtimes standing on it (an image's `in_use_by`), the warm pools booting members of it, and
 * the checkpoints made on it — and the refusal to remove it while any does, naming the command that frees it. A pool's
 * members are the daemon's (hidden from `runta ps`), so they are named by their pool, whose removal frees them.
 */
import { errors, type Image } from "../../api/index.js";
import type { RuntimeRecord } from "../../store/record.js";

/** `images` with `in_use_by` filled in: the names of the runtimes (not a pool's members) on each. */
export function withUsers(images: Image[], runtimes: RuntimeRecord[]): Image[] {
  const users = new Map<string, string[]>();
  for (const rec of runtimes) {
    if (rec.pool === null) users.set(rec.image, [...(users.get(rec.image) ?? []), rec.name]);
  }
  return images.map((img) => ({ ...img, in_use_by: users.get(img.name) ?? [] }));
}

/** `failed_precondition` with the fix when runtimes, warm pools or checkpoints still use image `name`. */
export function refuseRemovalInUse(name: string, use: { runtimes: RuntimeRecord[]; pools: { name: string; image: string }[]; checkpoints: string[] }): void {
  const users = use.runtimes.filter((r) => r.image === name && r.pool === null).map((r) => r.name);
  if (users.length) {
    throw errors.precondition(`image "${name}" is used by ${users.length} runtime(s): ${users.join(", ")}; remove them first: runta rm ${users.join(" ")}`, {
      in_use_by: users,
    });
  }
  const pools = [
    ...new Set([...use.pools.filter((p) => p.image === name).map((p) => p.name), ...use.runtimes.filter((r) => r.image === name && r.pool !== null).map((r) => r.pool!)]),
  ];
  if (pools.length) {
    throw errors.precondition(`image "${name}" is used by warm pool(s) ${pools.join(", ")}; remove them first: ${pools.map((p) => `runta pool rm ${p}`).join("; ")}`, { pools });
  }
  const checkpoints = use.checkpoints;
  if (checkpoints.length) {
    throw errors.precondition(`image "${name}" is under checkpoint(s) ${checkpoints.join(", ")}; remove them first: runta checkpoint rm ${checkpoints.join(" ")}`, {
      checkpoints,
    });
  }
}
