import { expect, test } from "vitest";
import { formatCpuList, parseCpuList, pickCpus } from "../../src/engine/views/cpuset.js";

test("cpu lists parse and format in the kernel's form", () => {
  expect(parseCpuList("0-2,5\n")).toEqual([0, 1, 2, 5]);
  expect(parseCpuList("")).toEqual([]);
  expect(formatCpuList([5, 0, 2, 1])).toBe("0-2,5");
  expect(formatCpuList([3])).toBe("3");
});

test("ceil(vCPUs) CPUs, the least loaded first, lower numbers winning ties", () => {
  const four = [0, 1, 2, 3];
  expect(pickCpus(0.5, four, new Map())).toEqual([0]);
  expect(pickCpus(1, four, new Map([[0, 2], [1, 1]]))).toEqual([2]);
  expect(pickCpus(1.01, four, new Map([[0, 1], [2, 1]]))).toEqual([1, 3]);
  expect(pickCpus(2, four, new Map())).toEqual([0, 1]);
  // Never fewer than one, never more than there are.
  expect(pickCpus(0.01, four, new Map())).toHaveLength(1);
  expect(pickCpus(9, four, new Map())).toEqual(four);
});

test("a resize keeps the CPUs a runtime has, adding or dropping at the end", () => {
  const four = [0, 1, 2, 3];
  const load = new Map([[0, 5], [1, 5], [2, 0], [3, 9]]);
  expect(pickCpus(2, four, load, [3])).toEqual([2, 3]);
  expect(pickCpus(1, four, load, [1, 3])).toEqual([1]);
  // A kept CPU the host no longer offers is dropped.
  expect(pickCpus(1, [0, 1], load, [3])).toEqual([0]);
});
