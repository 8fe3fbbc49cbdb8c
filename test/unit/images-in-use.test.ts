import { expect, test } from "vitest";
import { RuntaError, type Image } from "../../src/api/index.js";
import { refuseRemovalInUse, withUsers } from "../../src/engine/images/in-use.js";
import type { RuntimeRecord } from "../../src/store/record.js";

// Only the fields the rules read; the rest of a record does not matter to them.
const rec = (name: string, image: string, pool: string | null = null) => ({ name, image, pool }) as RuntimeRecord;
const image = (name: string) => ({ name, in_use_by: [] }) as unknown as Image;

function refusal(fn: () => void): RuntaError {
  try {
    fn();
  } catch (err) {
    return err as RuntaError;
  }
  throw new Error("expected a refusal");
}

test("in_use_by names the runtimes on each image, not a warm pool's members", () => {
  const listed = withUsers([image("busybox"), image("default")], [rec("a", "busybox"), rec("pool:p:1234", "busybox", "p"), rec("b", "busybox")]);
  expect(listed.map((i) => [i.name, i.in_use_by])).toEqual([
    ["busybox", ["a", "b"]],
    ["default", []],
  ]);
});

test("removal is refused while runtimes use the image, naming them and runta rm", () => {
  const err = refusal(() => refuseRemovalInUse("busybox", { runtimes: [rec("a", "busybox")], pools: [], checkpoints: [] }));
  expect(err.code).toBe("failed_precondition");
  expect(err.message).toMatch(/used by 1 runtime\(s\): a; remove them first: runta rm a/);
});

test("a warm pool's members are named by their pool, with runta pool rm (runta rm cannot see them)", () => {
  const err = refusal(() =>
    refuseRemovalInUse("busybox", { runtimes: [rec("pool:p:1234", "busybox", "p")], pools: [{ name: "q", image: "busybox" }, { name: "r", image: "default" }], checkpoints: [] }),
  );
  expect(err.code).toBe("failed_precondition");
  expect(err.message).toContain("warm pool(s) q, p");
  expect(err.message).toContain("runta pool rm q; runta pool rm p");
  expect(err.message).not.toContain("runta rm pool:");
  expect(err.details).toMatchObject({ pools: ["q", "p"] });
});

test("checkpoints on the image refuse it too; an unused image passes", () => {
  const err = refusal(() => refuseRemovalInUse("busybox", { runtimes: [], pools: [], checkpoints: ["cp1"] }));
  expect(err.message).toMatch(/under checkpoint\(s\) cp1; remove them first: runta checkpoint rm cp1/);
  expect(() => refuseRemovalInUse("busybox", { runtimes: [rec("a", "default")], pools: [{ name: "q", image: "default" }], checkpoints: [] })).not.toThrow();
});
