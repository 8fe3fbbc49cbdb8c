#!/usr/bin/env node
/**
 * Executable entry of the daemon:
 * `node dist/server/main.js --data-dir D --listen H:P [--allow-remote] [--public-host H] [--runc-root R] [--cgroup-parent P] [--images-dir I]
 *  [--network-cidr CIDR] [--network-hosts FILE] [--egress-ca-bundle FILE] [--ingress-listen HOST:PORT|none]
 *  [--ingress-domain DOMAIN] [--ingress-wake-timeout SECS] [--no-exec-agent]`.
 * Prints `runta daemon listening on <endpoint>` on stdout once it serves; logs go to stderr.
 */
import { parseArgs } from "node:util";
import { DEFAULTS, RuntaError } from "../api/index.js";
import { daemonOptionsFromEnv, runDaemon } from "./daemon.js";

const USAGE =
  "usage: runta-daemon [--data-dir DIR] [--listen HOST:PORT] [--allow-remote] [--public-host HOST]... " +
  "[--runc-root DIR] [--cgroup-parent NAME] [--images-dir DIR] [--network-cidr CIDR] [--network-hosts FILE] [--egress-ca-bundle FILE] " +
  "[--ingress-listen HOST:PORT|none] [--ingress-domain DOMAIN] [--ingress-wake-timeout SECS] [--no-exec-agent]";

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        "data-dir": { type: "string" },
        listen: { type: "string" },
        "allow-remote": { type: "boolean" },
        "public-host": { type: "string", multiple: true },
        "runc-root": { type: "string" },
        "cgroup-parent": { type: "string" },
        "images-dir": { type: "string" },
        "network-cidr": { type: "string" },
        "network-hosts": { type: "string" },
        "egress-ca-bundle": { type: "string" },
        "ingress-listen": { type: "string" },
        "ingress-domain": { type: "string" },
        "ingress-wake-timeout": { type: "string" },
        "no-exec-agent": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const wake = values["ingress-wake-timeout"];
  if (wake !== undefined && !/^\d+$/.test(wake)) {
    process.stderr.write(`--ingress-wake-timeout must be a whole number of seconds (got '${wake}')\n${USAGE}\n`);
    return 2;
  }
  try {
    // Flags over the environment (daemonOptionsFromEnv, shared with `runta daemon run`).
    const env = daemonOptionsFromEnv(process.env);
    const daemon = await runDaemon({
      ...env,
      dataDir: values["data-dir"] ?? DEFAULTS.dataDir,
      listen: values.listen ?? `${DEFAULTS.host}:${DEFAULTS.port}`,
      allowRemote: values["allow-remote"] ?? false,
      publicHosts: values["public-host"],
      runcRoot: values["runc-root"] ?? env.runcRoot,
      cgroupParent: values["cgroup-parent"] ?? env.cgroupParent,
      imagesDir: values["images-dir"] ?? env.imagesDir,
      execAgent: !values["no-exec-agent"] && env.execAgent,
      network: {
        cidr: values["network-cidr"] ?? env.network.cidr,
        hostsFile: values["network-hosts"] ?? env.network.hostsFile,
      },
      egressCaBundle: values["egress-ca-bundle"] ?? env.egressCaBundle,
      ingress: {
        listen: values["ingress-listen"] ?? env.ingress.listen,
        domain: values["ingress-domain"] ?? env.ingress.domain,
        wakeTimeoutSecs: wake === undefined ? env.ingress.wakeTimeoutSecs : Number(wake),
      },
    });
    process.stdout.write(`runta daemon listening on ${daemon.endpoint}\n`);
    await daemon.done;
    return 0;
  } catch (err) {
    const msg = err instanceof RuntaError ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(`runta daemon: ${msg}\n`);
    return 1;
  }
}

// Exit explicitly: engine handles (timers, sqlite) must not keep a stopped daemon alive.
main().then(
  (code) => process.exit(code),
  () => process.exit(1),
);
