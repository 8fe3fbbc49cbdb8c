/**
 * Admission of a create: every check that can refuse it before anything is made (name, image, resources, volumes,
 * policy, the runtimes limit, a restore's checkpoint) and the record it will insert. Synchronous on purpose: the engine inserts
 * the record right after, with no await between the count of runtimes here and the insert.
 */
import { DEFAULTS, ImageNameSchema, LIMITS, errors, pickImageForPython } from "../api/index.js";
import type { EgressPolicy } from "../api/egress.js";
import { newRuntimeRecord } from "../store/new-record.js";
import type { RuntimeRecord } from "../store/record.js";
import type { RuntimeStore } from "../store/store.js";
import type { CheckpointManager } from "./checkpoints/manager.js";
import { ImageBuilder, type ImageRequest } from "./images/packages.js";
import { BROWSER_IMAGE, CDP_PORT, TYPE_LABEL } from "./browser/browser.js";
import { DEFAULT_IMAGE, type ImageStore } from "./images/store.js";
import { generateName, shown, validateName } from "./names.js";
import { createPolicy } from "./network/policy.js";
import { validateResources } from "./refusals.js";
import type { CreateSpec } from "./types.js";
import type { VolumeManager } from "./volumes/manager.js";

/** What {@link admitCreate} consults. */
export interface CreateDeps {
  store: RuntimeStore;
  images: ImageStore;
  checkpoints: CheckpointManager;
  volumes: VolumeManager;
  /** The daemon's runtimes limit. */
  runtimesMax: number;
  /** A new runtime's disk size (MiB) when the spec names none. */
  diskMib: number;
  /** The create takes a warm pool's member, which already counts towards the runtimes limit. */
  fromPool?: boolean;
}

/** Checks a create and builds its record (status `creating`), or throws the refusal naming the field and the fix. */
export function admitCreate(spec: CreateSpec, deps: CreateDeps): { rec: RuntimeRecord; policy: EgressPolicy | undefined; image: ImageRequest } {
  if (spec.name !== undefined) validateName(spec.name);
  // A restore stands on the checkpoint's layers, which only fit the image they were made on.
  const checkpoint = spec.checkpoint === undefined ? null : deps.checkpoints.forRestore(spec.checkpoint);
  if (checkpoint && spec.packages?.length) throw errors.invalid("a restore stands on its checkpoint's image: packages cannot be added to it", { field: "packages" });
  const parent = checkpoint?.image ?? spec.image ?? DEFAULTS.image;
  if (!ImageNameSchema.safeParse(parent).success) {
    throw errors.invalid(`invalid image name ${shown(parent)}: lowercase letters, digits, '_', '.', '-', 1-63 characters`, { field: "image" });
  }
  if (!deps.images.exists(parent) && parent !== DEFAULT_IMAGE && parent !== BROWSER_IMAGE) {
    throw errors.notFound(`image "${parent}" not found; list images with 'runta image ls' or import one with 'runta image import'`, { image: parent });
  }
  // A package set stands on its derived image, built (once) before the runtime is provisioned.
  const image = spec.packages?.length ? ImageBuilder.nameOf({ parent, packages: spec.packages }) : parent;
  const vcpus = spec.vcpus ?? LIMITS.defaultVcpus;
  const memoryMib = spec.memoryMib ?? LIMITS.defaultMemoryMib;
  validateResources(vcpus, memoryMib);
  if (spec.name !== undefined && deps.store.getByName(spec.name)) {
    throw errors.exists(`a runtime named "${spec.name}" already exists; pick another name or remove it first: runta rm ${spec.name}`, { field: "name" });
  }
  const volumes = deps.volumes.resolve(spec.volumes ?? []);
  const policy = createPolicy(spec);
  if (policy && spec.network === "none") throw errors.invalid("an egress policy needs a network: drop network \"none\"", { field: "network" });
  const max = deps.runtimesMax;
  if (!deps.fromPool && deps.store.count() >= max) {
    // Warm pool members are runtimes too (booted, with a network and a disk): say so, or the count looks wrong.
    const pooled = deps.store.poolMembers().length;
    throw errors.exhausted(
      `this daemon already holds ${max} runtimes, its limit${pooled ? ` (${pooled} of them waiting in warm pools: runta pool ls)` : ""}; remove some first (runta ps -a, runta rm <runtime>${pooled ? ", runta pool set/rm" : ""})`,
      { limit: max, pooled },
    );
  }
  const rec = newRuntimeRecord({
    name: spec.name ?? generateName((n) => !!deps.store.getByName(n)),
    status: "creating",
    image,
    vcpus,
    memoryMib,
    env: spec.env ?? {},
    labels: spec.labels ?? {},
    hostname: spec.hostname ?? null,
    description: spec.description ?? "",
    execTimeoutSecs: spec.execTimeoutSecs ?? null,
    lifetimeSecs: spec.lifetimeSecs ?? null,
    idleTimeoutSecs: spec.idleTimeoutSecs ?? null,
    idempotencyKey: spec.idempotencyKey ?? null,
    requestHash: spec.requestHash ?? null,
    diskMib: spec.diskSizeGib !== undefined ? spec.diskSizeGib * 1024 : deps.diskMib,
    checkpointId: checkpoint?.id ?? null,
    volumes,
  });
  return { rec, policy, image: spec.packages?.length ? { parent, packages: spec.packages } : { name: image } };
}

/**
 * A create asking for a Python version (seed 000's runtimeVersion) gets the image that carries it (api/runtime-version.ts);
 * `invalid_argument` listing the versions the images carry when none does. Runs before the admission (it reads images).
 */
export async function withRuntimeVersion(spec: CreateSpec, images: ImageStore): Promise<CreateSpec> {
  if (spec.runtimeVersion === undefined) return spec;
  if (spec.checkpoint !== undefined) throw errors.invalid("a restore runs on its checkpoint's image: runtime_version cannot pick another", { field: "runtime_version" });
  try {
    return { ...spec, image: pickImageForPython(await images.list(), spec.runtimeVersion, spec.image, DEFAULT_IMAGE) };
  } catch (err) {
    throw errors.invalid(`runtime_version ${spec.runtimeVersion}: ${(err as Error).message}`, { field: "runtime_version" });
  }
}

/**
 * A browser runtime (seed 004's `type: "browser"`): the browser image unless another is named, marked by its label
 * (boot reads it to start Chromium), its DevTools port published through the ingress (browser/browser.ts).
 */
export function asBrowser(spec: CreateSpec): CreateSpec {
  if (spec.type !== "browser") return spec;
  if (spec.network === "none") throw errors.invalid('a browser runtime is reached through its published DevTools port: it needs a network (drop network "none")', { field: "network" });
  const ports = spec.ports ?? [];
  return {
    ...spec,
    image: spec.image ?? BROWSER_IMAGE,
    labels: { ...spec.labels, [TYPE_LABEL]: "browser" },
    ports: ports.some((p) => p.port === CDP_PORT) ? ports : [...ports, { port: CDP_PORT, protocol: "http" }],
  };
}
