/**
 * Warm pools through the real daemon and real runc: members boot in the background; a create of the pool's shape
 * takes one (its id, already running) and gets the create's name, hostname, env and labels inside, with nothing left
 * running from before; the pool refills; other shapes boot as usual; a restarted daemon adopts the members instead
 * of booting more; removing the pool removes its waiting members.
 */
import { expect, test } from "vitest";
import type { Runta } from "../../src/client/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;

/** Polls the pool until `ready` members wait (bounded; no timing assertion). */
async function readyPool(runta: Runta, name: string, ready: number) {
  for (let i = 0; i < 600; i++) {
    const pool = (await runta.pools.list()).find((p) => p.name === name);
    if (pool && pool.ready === ready && pool.booting === 0) return pool;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`pool ${name} never had ${ready} ready members: ${JSON.stringify(await runta.pools.list())}`);
}

test("a create of the pool's shape takes a booted member, named and configured as asked; the pool refills", async () => {
  const runta = d.client();
  const pool = await runta.pools.set("small", { image: "busybox", vcpus: 1, memoryMiB: 64, min: 2, max: 3 });
  expect(pool).toMatchObject({ name: "small", image: "busybox", resources: { requests: { vcpus: 1, memory_mib: 64 } }, min: 2, max: 3 });
  await readyPool(runta, "small", 2);
  // Members are hidden from the list and from lookups; pooled=true shows them with their pool.
  expect(await runta.runtimes.list()).toEqual([]);
  const members = (await runta.runtimes.list({ pooled: true })).map((r) => r.info);
  expect(members.map((m) => m.pool)).toEqual(["small", "small"]);
  await expect(runta.runtimes.get(members[0]!.name)).rejects.toMatchObject({ code: "not_found" });

  const rt = await runta.runtimes.create("taken", { image: "busybox", vcpus: 1, memoryMiB: 64, env: { GREETING: "hi" }, labels: { team: "infra" } });
  expect(members.map((m) => m.id)).toContain(rt.id);
  expect(rt.info).toMatchObject({ name: "taken", status: "running", hostname: "taken", labels: { team: "infra" }, env_names: ["GREETING"], revision: 2 });
  expect(rt.info.pool).toBeUndefined();
  const inside = await rt.exec(["sh", "-c", "hostname; cat /etc/hostname; grep -c taken /etc/hosts; echo $GREETING; ps -o pid,comm | tail -n +2 | wc -l"]);
  // hostname, /etc/hostname, one /etc/hosts line, the env; processes: the init, sh, ps, wc, tail and nothing else.
  expect(inside.stdoutText.split("\n").slice(0, 4)).toEqual(["taken", "taken", "1", "hi"]);
  expect(Number(inside.stdoutText.split("\n")[4])).toBeLessThanOrEqual(5);
  expect((await runta.runtimes.list()).map((r) => r.name)).toEqual(["taken"]);

  // Another shape is not served by the pool.
  const other = await runta.runtimes.create("other", { image: "busybox", vcpus: 1, memoryMiB: 96 });
  expect(members.map((m) => m.id)).not.toContain(other.id);

  await readyPool(runta, "small", 2);
  await other.delete();
  await rt.delete();
});

test("a restarted daemon adopts the pool's members instead of booting more; pool rm removes them", async () => {
  let runta = d.client();
  await runta.pools.set("adopt", { image: "busybox", vcpus: 1, memoryMiB: 64, min: 1 });
  await readyPool(runta, "adopt", 1);
  const before = (await runta.runtimes.list({ pooled: true })).map((r) => r.id).sort();
  await d.restart();
  runta = d.client();
  await readyPool(runta, "adopt", 1);
  await readyPool(runta, "small", 2);
  expect((await runta.runtimes.list({ pooled: true })).map((r) => r.id).sort()).toEqual(before);

  const removed = await runta.pools.remove("adopt");
  expect(removed.name).toBe("adopt");
  expect((await runta.runtimes.list({ pooled: true })).map((r) => r.info.pool)).toEqual(["small", "small"]);
  await expect(runta.pools.remove("adopt")).rejects.toMatchObject({ code: "not_found" });
  await runta.pools.remove("small");
  expect(await runta.runtimes.list({ pooled: true })).toEqual([]);
});

test("refusals through the API: a pool the host cannot hold names the numbers; min and minCachedInstances must agree", async () => {
  const runta = d.client();
  await expect(runta.pools.set("huge", { image: "busybox", memoryMiB: 4096, min: 100, max: 100 })).rejects.toThrow(/MiB of memory; lower --min or --memory/);
  const res = await fetch(`${d.endpoint}/v1/pools/seed`, {
    method: "PUT",
    headers: { authorization: `Bearer ${d.token}`, "content-type": "application/json" },
    body: JSON.stringify({ image: "busybox", min: 1, minCachedInstances: 2 }),
  });
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/min \(1\) and minCachedInstances \(2\) disagree/);
  expect(await runta.pools.list()).toEqual([]);
});
