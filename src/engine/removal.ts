/**
 * Removing a runtime (`runta rm`, a build runtime, a warm pool's member), under its lock: its init is killed,
 * everything it has on the host torn down (containers.ts), its record deleted, and what the other rooms keep of it
 * forgotten (ingress's host ports, exec history, idle clock, secret rules). A failed teardown leaves the record
 * `deleting` with the error and the fix (`runta rm` again finishes it; so does the next daemon's reconcile).
 */
import { errors, type Runtime } from "../api/index.js";
import type { RuntimeStore } from "../store/store.js";
import type { Containers } from "./containers.js";
import type { Execs } from "./exec.js";
import type { IdleKeeper } from "./idle/keeper.js";
import type { Ingress } from "./ingress/ingress.js";
import { shown } from "./names.js";
import type { RuntimeRecords } from "./records.js";
import type { RuntimeSecrets } from "./secrets/secrets.js";
import { isLive } from "./status.js";

export class RuntimeRemoval {
  constructor(
    private readonly deps: {
      store: RuntimeStore;
      records: RuntimeRecords;
      containers: Pick<Containers, "killInit" | "teardown">;
      ingress: Pick<Ingress, "forget">;
      execs: Pick<Execs, "forget">;
      idle: Pick<IdleKeeper, "forget">;
      secrets: Pick<RuntimeSecrets, "forget">;
    },
  ) {}

  /** Kills and tears down runtime `id` (a user's, or a warm pool's member: found by id alone) and deletes its record. */
  remove(id: string): Promise<Runtime> {
    const { store, records, containers } = this.deps;
    return records.withLock(id, async () => {
      const rec = store.get(id);
      if (!rec) throw errors.notFound(`runtime ${shown(id)} not found; list runtimes with: runta ps -a`);
      const deleting = records.mustUpdate(id, { status: "deleting" });
      try {
        const live = isLive(rec.status);
        if (live) await containers.killInit(rec, 0);
        await containers.teardown(id, { initDead: live });
      } catch (err) {
        store.update(id, { lastError: `delete failed: ${(err as Error).message}; run 'runta rm ${rec.name}' again` });
        throw err;
      }
      await this.deps.ingress.forget(id);
      store.delete(id);
      this.deps.execs.forget(id);
      this.deps.idle.forget(id);
      this.deps.secrets.forget(id);
      return records.toRuntime(deleting);
    });
  }
}
