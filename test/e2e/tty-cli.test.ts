/**
 * `runta exec -it` / `-i` end to end: the built `bin/runta.js` under a real pseudo-terminal (node-pty), against the
 * real daemon (startTestDaemon: built dist/, real runc, a busybox runtime). Run `npm run build` first.
 * Each terminal runs `sh -c '<runta …>; echo EXIT=$?; stty -a'`, so the CLI's exit status and the terminal's mode
 * after it are visible on the screen.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import type { RuntimeHandleApi } from "../../src/client/contract.js";
import { daemonSuite } from "../helpers/daemon-suite.js";
import { terminal, type Terminal } from "../helpers/terminal.js";

const ROOT = resolve(import.meta.dirname, "../..");
const RUNTA = `node ${join(ROOT, "bin/runta.js")}`;
/** busybox ash asks the terminal for the cursor position (ESC[6n) right after its prompt. */
const PROMPT = /[#$] (\x1b\[6n)?$/;
/** The lflags part of `stty -a`, up to and including echo. */
const STTY_ECHO = /speed[\s\S]*?-?icanon[\s\S]*?-?echo\b/;

const suite = daemonSuite();
const d = suite.daemon;
let rt: RuntimeHandleApi;
let dir: string;
const suffix = randomBytes(3).toString("hex");

beforeAll(async () => {
  dir = suite.scratch;
  rt = await d.client().runtimes.create(`tty-${suffix}`, { image: "busybox", vcpus: 0.5, memoryMiB: 128 });
});


/** A terminal running `cmd` with the test daemon's endpoint and token. */
function cliTerminal(cmd: string, size?: { cols: number; rows: number }, term?: string): Terminal {
  return terminal(cmd, { env: { ...d.env, NO_COLOR: "1" }, size, term });
}

/** Asserts `stty -a` (printed after the CLI) shows canonical mode and echo: raw mode was undone. */
async function expectCooked(t: Terminal) {
  const m = await t.until(STTY_ECHO);
  expect(m[0]).toMatch(/(?<!-)icanon/);
  expect(m[0]).toMatch(/(?<!-)echo\b/);
}

describe("runta exec -it", () => {
  test("a typed command runs, the size is right at the first prompt, TERM passes through, exit 3 gives 3", async () => {
    const t = cliTerminal(`stty sane; ${RUNTA} exec -it ${rt.name} -- sh; echo "EXIT=$?"; stty -a`, { cols: 111, rows: 33 }, "screen");
    await t.until(PROMPT);
    t.p.write("echo hello-$((6*7)); stty size; echo term=$TERM\r");
    await t.until(/hello-42/);
    await t.until(/^33 111\r?$/m);
    await t.until(/term=screen/);
    t.p.write("exit 3\r");
    await t.until(/EXIT=3/);
    await expectCooked(t);
    expect(await t.exited).toBe(0);
  });

  test("a window resize reaches the remote terminal", async () => {
    const t = cliTerminal(`${RUNTA} exec -it ${rt.name} -- sh; echo "EXIT=$?"`, { cols: 80, rows: 24 });
    await t.until(PROMPT);
    t.p.write("stty size\r");
    await t.until(/^24 80\r?$/m);
    t.p.resize(132, 43);
    await new Promise((r) => setTimeout(r, 300));
    t.p.write("stty size\r");
    await t.until(/^43 132\r?$/m);
    t.p.write("exit\r");
    await t.until(/EXIT=0/);
  });

  test("Ctrl-C interrupts sleep 100 on the remote side, and the session goes on", async () => {
    const t = cliTerminal(`${RUNTA} exec -it ${rt.name} -- sh; echo "EXIT=$?"`);
    await t.until(PROMPT);
    t.p.write("sleep 100\r");
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    t.p.write("\x03");
    await t.until(/\^C[\s\S]*[#$] (\x1b\[6n)?$/);
    expect(Date.now() - t0).toBeLessThan(5000);
    t.p.write("echo rc=$?\r");
    await t.until(/rc=130/);
    t.p.write("\x04"); // Ctrl-D at the prompt ends the remote shell
    await t.until(/EXIT=0/);
  });

  test("arrow keys and line editing reach the remote shell", async () => {
    const t = cliTerminal(`${RUNTA} exec -it ${rt.name} -- sh; echo "EXIT=$?"`);
    await t.until(PROMPT);
    // Type "echo abc", go left twice, insert X: the remote line editor must see the escape sequences.
    t.p.write("echo abc\x1b[D\x1b[DX\r");
    await t.until(/^aXbc\r?$/m);
    t.p.write("exit\r");
    await t.until(/EXIT=0/);
  });

  test("removing the runtime mid-session ends the CLI with the terminal restored", async () => {
    const other = await d.client().runtimes.create(`tty-rm-${suffix}`, { image: "busybox", vcpus: 0.5, memoryMiB: 64 });
    const t = cliTerminal(`stty sane; ${RUNTA} exec -it ${other.name} -- sh; echo "EXIT=$?"; stty -a`);
    await t.until(PROMPT);
    await other.delete();
    const m = await t.until(/EXIT=(\d+)/);
    expect(Number(m[1])).not.toBe(0);
    await expectCooked(t);
    expect(await t.exited).toBe(0);
  });

  test("-t without a terminal on stdin is a clear usage error, not a hang", async () => {
    const t = cliTerminal(`echo | ${RUNTA} exec -it ${rt.name} -- sh; echo "EXIT=$?"`);
    await t.until(/EXIT=2/);
    expect(t.text()).toMatch(/not a TTY/i);
  });
});

describe("runta exec -t (the local terminal stays cooked)", () => {
  test("a double Ctrl-C detaches, and the message starts on a line of its own after output left mid-line", async () => {
    // The remote ignores the first Ctrl-C (forwarded as INT), so the second one within a second detaches.
    const t = cliTerminal(`exec ${RUNTA} exec -t --grace 1 ${rt.name} -- sh -c 'trap "" INT; printf working; sleep 100'`);
    await t.until(/working/);
    t.p.write("\x03");
    await new Promise((r) => setTimeout(r, 200));
    t.p.write("\x03");
    await t.until(/runta: detached; exec [0-9a-f]+ keeps running for its grace period: runta attach/);
    // The terminal echoed ^C^C after "working"; the message is on the next line, not glued to it.
    expect(t.text()).toMatch(/working(\^C)*\r?\n\r?runta: detached;/);
    expect(await t.exited).toBe(130);
  });
});

describe("runta exec -i with pipes", () => {
  test("echo hi | runta exec -i rt -- cat prints hi and exits 0", async () => {
    const t = cliTerminal(`echo hi | ${RUNTA} exec -i ${rt.name} -- cat; echo "EXIT=$?"`);
    await t.until(/EXIT=0/);
    expect(t.text()).toMatch(/^hi\r?$/m);
  });

  test("binary data round-trips, stderr stays apart, output after EOF arrives, the remote code comes back", async () => {
    const bin = join(dir, "bytes.bin");
    writeFileSync(bin, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 13) % 256)));
    const t = cliTerminal(
      `${RUNTA} exec -i ${rt.name} -- sh -c 'cat; sleep 0.5; echo late >&2; exit 5' < ${bin} 2>${dir}/err | cmp - ${bin} && echo SAME; ` +
        `echo "EXIT=$(${RUNTA} exec -i ${rt.name} -- sh -c 'exit 5' </dev/null; echo $?)"; cat ${dir}/err`,
    );
    await t.until(/SAME/);
    await t.until(/EXIT=5/);
    await t.until(/^late\r?$/m);
  });
});

describe("runta exec -it when the daemon goes away", () => {
  // Last: it kills the daemon (cleanup restarts it to delete the runtime).
  test("the terminal is restored and the exit is 125 with a one-line message", async () => {
    const t = cliTerminal(`stty sane; ${RUNTA} exec -it ${rt.name} -- sh; echo "EXIT=$?"; stty -a`);
    await t.until(PROMPT);
    await d.kill();
    await t.until(/EXIT=125/);
    expect(t.text()).toMatch(/runta: [^\n]*daemon[^\n]*\r?\n/);
    await expectCooked(t);
    expect(await t.exited).toBe(0);
  });
});
