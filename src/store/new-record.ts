/**
 * A new runtime record: the one place that says what a field is before anything happened to the runtime. A create, a
 * warm pool's member and a record recovered from its bundle each give what they know; every other field starts here,
 * so a field added to RuntimeRecord is added once.
 */
import { randomUUID } from "node:crypto";
import type { RuntimeRecord } from "./record.js";

/** What every caller must say; everything else defaults to "not set yet". */
export type NewRecordFields = Pick<RuntimeRecord, "name" | "status" | "image" | "vcpus" | "memoryMib" | "diskMib"> & Partial<RuntimeRecord>;

export function newRuntimeRecord(fields: NewRecordFields): RuntimeRecord {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    env: {},
    labels: {},
    hostname: null,
    description: "",
    execTimeoutSecs: null,
    lifetimeSecs: null,
    createdAt: now,
    updatedAt: now,
    startedAt: null,
    revision: 1,
    lastError: null,
    idleTimeoutSecs: null,
    lastActivityAt: null,
    lastActivityKind: null,
    idempotencyKey: null,
    requestHash: null,
    initPid: null,
    initStartTime: null,
    bootId: null,
    checkpointId: null,
    volumes: [],
    exitCode: null,
    pool: null,
    ports: [],
    ...fields,
  };
}
