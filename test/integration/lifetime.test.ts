/**
 * Lifetimes through the real daemon and runc: a runtime shuts down (filesystem kept) its lifetime after each start,
 * a boot starts a new one, and a daemon that was down when a deadline passed shuts the runtime down once it is back.
 */
import { expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;

const statusOf = async (name: string) => (await d.client().runtimes.get(name, { usage: false })).info.status;

test("a 3 s lifetime shuts the runtime down at about 3 s, keeping its files; a boot starts a new lifetime", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("brief", { image: "busybox", memoryMiB: 64, lifetimeSecs: 3 });
  expect(rt.info.lifetime_secs).toBe(3);
  expect(Date.parse(rt.info.shutdown_at!) - Date.parse(rt.info.started_at!)).toBe(3000);
  await rt.exec("echo kept > /state");
  await expect.poll(() => statusOf("brief"), { timeout: 8000, interval: 200 }).toBe("shutdown");
  expect(Date.now() - Date.parse(rt.info.started_at!)).toBeGreaterThanOrEqual(3000);
  const down = await runta.runtimes.get("brief", { usage: false });
  expect(down.info.shutdown_at).toBeNull();

  const booted = await runta.runtimes.start("brief");
  expect(Date.parse(booted.shutdown_at!)).toBeGreaterThan(Date.parse(rt.info.shutdown_at!));
  expect((await runta.runtimes.exec("brief", "cat /state")).stdoutText).toBe("kept\n");
  await expect.poll(() => statusOf("brief"), { timeout: 8000, interval: 200 }).toBe("shutdown");
  await runta.runtimes.delete("brief");
}, 60_000);

test("seed 002's timeout_seconds is the lifetime; a deadline passed while the daemon was down is kept at its restart", async () => {
  const res = await fetch(`${d.endpoint}/v1/runtimes`, {
    method: "POST",
    headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "outlived", image: "busybox", timeout_seconds: 4, resources: { requests: { memory_mib: 64 } } }),
  });
  expect(res.status).toBe(201);
  expect((await res.json()).data.lifetime_secs).toBe(4);
  await d.kill();
  await new Promise((r) => setTimeout(r, 5000));
  await d.restart();
  await expect.poll(() => statusOf("outlived"), { timeout: 5000, interval: 200 }).toBe("shutdown");
  await d.client().runtimes.delete("outlived");
}, 60_000);
