/**
 * Every example of every `--help` runs as written, through bash, against a real daemon (isolated as in
 * test/helpers/daemon.ts) with the built CLI first on PATH as `runta`. The examples name runtimes `worker`, `batch` and
 * `web`, a `deployment.json`, a `busybox.tar`, an `app.py` and a `src/` in the working directory, an image `alpine`,
 * a checkpoint `golden-v1` and a volume `data`: before each example
 * those exist as the example expects (what an earlier example removed or paused is put back). The few that cannot
 * run here are listed in CANNOT_RUN with the reason, and where they are covered instead. Needs `npm run build` first.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createContext } from "../../src/cli/context.js";
import { buildProgram } from "../../src/cli/program.js";
import { ensureDefaultImage, leaks, SHARED_IMAGES_DIR, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { RUNTA_BIN, testIO } from "../helpers/cli.js";

/** Examples that cannot run in this test, and why. Everything else must exit 0. */
const CANNOT_RUN: Record<string, string> = {
  "runta exec -it worker -- bash": "needs a terminal on stdin: test/e2e/tty-cli.test.ts runs exec -it under a real pty",
  "runta attach worker 3f2a9c41d0e7": "3f2a9c41d0e7 stands for the id `runta top` shows: test/e2e covers attach (issue 11)",
  "runta kill -s TERM worker 3f2a9c41d0e7": "3f2a9c41d0e7 stands for the id `runta top` shows: test/e2e covers kill (issue 11)",
  "runta image build": "builds the default image from the Debian mirror (minutes; here it exists already): test/integration builds images",
  "runta image build --force": "rebuilds the default image from the Debian mirror (minutes): test/integration builds images",
  "docker export $(docker create alpine) | runta image import alpine -": "needs docker; `runta image import busybox ./busybox.tar` runs the same import",
  "runta egress events worker --follow": "follows until Ctrl-C: test/unit/cli covers --follow",
  "runta completion bash > /etc/bash_completion.d/runta": "writes the machine's shell set-up: test/unit/completion.test.ts checks the scripts",
  'runta completion zsh > "${fpath[1]}/_runta"': "zsh syntax, writes the machine's shell set-up: test/unit/completion.test.ts checks the scripts",
  "runta completion fish > ~/.config/fish/completions/runta.fish": "writes the user's shell set-up: test/unit/completion.test.ts checks the scripts",
  "runta dashboard": "opens a browser on a desktop; `runta dashboard --no-open` runs here",
  "runta image build browser": "builds Debian's Chromium into an image (minutes): test/integration/browser.test.ts builds it",
  "runta run --name chrome --type browser": "builds the browser image first (minutes): test/integration/browser.test.ts runs a browser runtime",
  "runta secret set OPENAI_API_KEY --prompt": "reads from a terminal: test/e2e/secrets.test.ts runs --prompt under a real pty",
};
/** `sudo runta daemon …` manages the machine's own daemon (/var/lib/runta, port 7420): test/e2e/cli-embedded.test.ts covers it in a private data dir. */
const MANAGES_THE_MACHINE = /^sudo runta daemon /;

/** Every example line of every command's help, with the command path it belongs to. */
function examples(program: Command): { where: string; line: string }[] {
  const out: { where: string; line: string }[] = [];
  const collect = (cmd: Command, where: string) => {
    let help = "";
    cmd.configureOutput({ writeOut: (s) => (help += s) });
    cmd.outputHelp();
    const section = help.split("\nExamples:\n")[1] ?? "";
    for (const raw of section.split("\n")) {
      if (!raw.startsWith("  ")) break; // the section ends at the first line that is not an indented example
      const line = raw.replace(/\s+# .*$/, "").trim();
      if (line) out.push({ where, line });
    }
    for (const sub of cmd.commands) if (!sub.name().startsWith("__")) collect(sub, `${where} ${sub.name()}`.trim());
  };
  collect(program, "");
  return out;
}

let d: TestDaemon;
let dir: string;
let images: string;

async function cli(args: string[]) {
  return execa(process.execPath, [RUNTA_BIN, ...args], { env: { ...d.env, HOME: dir }, reject: false, cwd: dir });
}

/** Puts back what the examples expect: worker, batch and web running; alpine imported; nothing else. */
async function fixtures(line: string): Promise<void> {
  const sdk = d.client();
  const want = ["worker", "batch", "web"];
  // An example that creates a runtime needs its name free.
  const creates = /runta run .*--name (\S+)/.exec(line)?.[1];
  for (const h of await sdk.runtimes.list()) {
    if (!want.includes(h.name) || h.name === creates) await sdk.runtimes.delete(h.id);
  }
  for (const name of want) {
    if (name === creates) continue;
    const h = await sdk.runtimes.get(name, { usage: false }).catch(() => undefined);
    if (!h) await sdk.runtimes.create(name, { image: "default", vcpus: 0.5, memoryMiB: 256 });
    else if (h.info.status === "shutdown" || h.info.status === "crashed") await sdk.runtimes.start(name);
    else if (h.info.status === "paused") await sdk.runtimes.resume(name);
  }
  const have = (await sdk.images.list()).map((i) => i.name);
  if (!have.includes("alpine")) await sdk.images.import("alpine", readFileSync(join(dir, "busybox.tar")));
  // `image import busybox ./busybox.tar` adds it afresh.
  if (/image import busybox/.test(line) && have.includes("busybox")) await sdk.images.remove("busybox");
  // Something to boot; and `wait` waits for a shutdown that someone else does.
  if (/status=shutdown/.test(line)) await sdk.runtimes.stop("batch", { graceSecs: 0 });
  // A graceful shutdown: its init exits 0, which is what wait prints and exits with (-t 0 would give 137).
  if (line === "runta wait worker") setTimeout(() => void sdk.runtimes.stop("worker", { graceSecs: 1 }), 1000);
  // Checkpoint examples: golden-v1 (of worker) exists, unless the example is the one creating it.
  if (/^runta (checkpoint|snapshot) /.test(line)) {
    const made = /(?:checkpoint|snapshot) create \S+ (\S+)/.exec(line)?.[1];
    const cps = await sdk.checkpoints.list();
    for (const c of cps) if (c.display_name === made) await sdk.checkpoints.remove(c.id);
    if (made !== "golden-v1" && !cps.some((c) => c.display_name === "golden-v1")) await sdk.checkpoints.create("worker", "golden-v1");
  }
  // Volume examples: the volume an example creates is gone first; `data` exists for the others (no runtime mounts it:
  // the runtimes other than worker, batch and web were removed above).
  const volumes = (await sdk.volumes.list()).map((v) => v.name);
  const makes = /runta volume create (\S+)/.exec(line)?.[1];
  if (makes && volumes.includes(makes)) await sdk.volumes.remove(makes);
  if (/\bdata\b/.test(line) && makes !== "data" && !volumes.includes("data")) await sdk.volumes.create("data", { sizeMiB: 64 });
  // A resize example grows `data`: an earlier example may have made it at the default size (10g), larger than asked.
  if (/^runta volume resize data /.test(line) && volumes.includes("data") && (await sdk.volumes.get("data")).size_bytes >= 4 * 1024 ** 3) {
    await sdk.volumes.remove("data");
    await sdk.volumes.create("data", { sizeMiB: 64 });
  }
  // Secret examples: the secrets they name exist, worker has no rules (so `secret rm` may go), except the one `rule rm` removes.
  if (/^runta secret /.test(line)) {
    for (const name of ["OPENAI_API_KEY", "GH_TOKEN", "API_KEY"]) await sdk.secrets.set(name, "sk-example");
    for (const r of await sdk.secrets.rules("worker")) await sdk.secrets.removeRule("worker", r.host, r.header);
    if (/secret rule rm worker --host api\.openai\.com/.test(line)) {
      await sdk.secrets.setRule("worker", { secret: "OPENAI_API_KEY", host: "api.openai.com", header: "Authorization", template: "Bearer ${secret}" });
    }
  }
  // `delete -f deployment.json` removes what `apply -f deployment.json` made.
  if (/runta delete -f deployment\.json/.test(line)) expect((await cli(["apply", "-f", "deployment.json"])).exitCode).toBe(0);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "runta-e2e-help-"));
  await ensureDefaultImage(SHARED_IMAGES_DIR);
  // A private images dir (examples remove and import images): the shared default image, hard-linked (instant, no copy).
  images = join(dir, "images");
  execFileSync("mkdir", ["-p", images]);
  execFileSync("cp", ["-al", join(SHARED_IMAGES_DIR, "default"), join(images, "default")]);
  d = await startTestDaemon({ imagesDir: images });
  writeFileSync(join(dir, "runta"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(RUNTA_BIN)} "$@"\n`);
  chmodSync(join(dir, "runta"), 0o755);
  execFileSync("tar", ["-C", join(images, "busybox", "rootfs"), "-cf", join(dir, "busybox.tar"), "."]);
  // `runta cp` examples copy these in.
  writeFileSync(join(dir, "app.py"), "print('hi')\n");
  // `secret set … --value-stdin < key.txt` reads this.
  writeFileSync(join(dir, "key.txt"), "sk-example\n");
  execFileSync("mkdir", ["-p", join(dir, "src", "pkg")]);
  writeFileSync(join(dir, "src", "pkg", "mod.py"), "X = 1\n");
  writeFileSync(
    join(dir, "deployment.json"),
    JSON.stringify({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [{ name: "svc", image: "busybox", resources: { vcpus: 0.5, memory_mib: 64 } }] }),
  );
}, 600_000);

afterAll(async () => {
  try {
    await d?.cleanup();
    if (d) expect(await leaks(d)).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const PROGRAM = await buildProgram(createContext({ io: testIO(), env: {} }));

describe("every --help example runs as written", () => {
  const all = examples(PROGRAM);

  test("the examples were found (every command has some)", () => {
    expect(all.length).toBeGreaterThan(60);
    for (const skipped of Object.keys(CANNOT_RUN)) expect(all.map((e) => e.line), skipped).toContain(skipped);
  });

  for (const { where, line } of all) {
    const why = CANNOT_RUN[line] ?? (MANAGES_THE_MACHINE.test(line) ? "manages the machine's own daemon: test/e2e/cli-embedded.test.ts covers it in a private data dir" : undefined);
    if (why) {
      test.skip(`${where || "runta"}: ${line} — cannot run here: ${why}`, () => undefined);
      continue;
    }
    test(`${where || "runta"}: ${line}`, async () => {
      await fixtures(line);
      const r = await execa("bash", ["-c", `set -o pipefail; ${line}`], {
        cwd: dir,
        reject: false,
        timeout: 120_000,
        stdin: "ignore",
        // `runta daemon status` looks at the local daemon: here, the test's.
        // OPENAI_API_KEY: what `secret set … --value-env OPENAI_API_KEY` takes.
        env: { ...d.env, HOME: dir, PATH: `${dir}:${process.env.PATH}`, NO_COLOR: "1", RUNTA_DATA_DIR: d.dataDir, RUNTA_LISTEN: d.endpoint.replace(/^http:\/\//, ""), OPENAI_API_KEY: "sk-example" },
      });
      expect(r.exitCode, `${line}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
    }, 180_000);
  }
});
