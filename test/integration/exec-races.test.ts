/**
 * Execs racing the end of their runtime (issue 21, item 8; found again by the 10-minute soak of `npm run stress`):
 * an exec admitted while the runtime ran, whose start then met a stop, a delete or a restart (its cgroup gone, its
 * agent ended), answers 409 with the runtime's state or 404 once it is removed — never 500 or 503.
 */
import { expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import { engineSuite } from "../helpers/engine-env.js";

const suite = engineSuite();

/** How each exec of a round ended: its exit code, or the error's code (and message when it is not a refusal). */
async function outcome(p: Promise<{ exit_code: number }>): Promise<string> {
  try {
    return `exit ${(await p).exit_code}`;
  } catch (err) {
    if (!(err instanceof RuntaError)) return `thrown ${String(err)}`;
    return ["failed_precondition", "not_found"].includes(err.code) ? err.code : `${err.code}: ${err.message}`;
  }
}

test("execs started as their runtime stops, restarts or is removed succeed or are refused with its state", async () => {
  const engine = suite.engine;
  const seen = new Set<string>();
  for (let round = 0; round < 6; round++) {
    const name = `race-${round}`;
    await engine.create({ name, image: "busybox", memoryMib: 32 });
    const execs = Array.from({ length: 8 }, () => outcome(engine.exec(name, { argv: ["sh", "-c", "echo hi"] })));
    // Stop, then a restart or a removal, while the execs are starting.
    const ending = round % 2 ? engine.stop(name, { graceSecs: 0 }).then(() => engine.start(name)) : engine.delete(name);
    const late = (async () => {
      await new Promise((r) => setTimeout(r, 20));
      return Promise.all(Array.from({ length: 4 }, () => outcome(engine.exec(name, { argv: ["true"] }))));
    })();
    await ending;
    for (const o of [...(await Promise.all(execs)), ...(await late)]) seen.add(o);
    await engine.delete(name).catch(() => undefined);
  }
  // Only successes and the documented refusals: anything else is printed whole by the failure.
  expect([...seen].filter((o) => !/^exit 0$|^failed_precondition$|^not_found$/.test(o))).toEqual([]);
});
