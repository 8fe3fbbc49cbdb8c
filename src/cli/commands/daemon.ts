import { Command } from "commander";
import { DEFAULTS } from "../../api/limits.js";
import { UsageError } from "../errors.js";
import { localDefaults, readLocalToken } from "../../client/config.js";
import type { CliContext } from "../context.js";
import { printJson, spinner } from "../output.js";
import { boundedNumber } from "../parse.js";
import { PORT_LIMITS } from "../../api/ports-spec.js";

/** Flags of `runta daemon run`. */
export interface DaemonRunOptions {
  dataDir: string;
  listen: string;
  allowRemote?: boolean;
  ingressListen?: string;
  ingressDomain?: string;
  ingressWakeTimeout?: number;
}

/** `runta daemon run|start|stop|status`. */
export function daemonCommand(ctx: CliContext): Command {
  const local = localDefaults(ctx.env);
  const daemon = new Command("daemon").description("Run or manage the runta daemon (REST API, websocket, runc engine)").addHelpText(
    "after",
    `
Examples:
  sudo runta daemon start     # in the background, log in ${local.logFile}
  runta daemon status
  sudo runta daemon run       # in the foreground (e.g. under systemd)
  sudo runta daemon stop`,
  );
  daemon
    .command("run")
    .description("Run the daemon in the foreground until SIGTERM/SIGINT")
    .option("--data-dir <dir>", "state, token and images", local.dataDir)
    .option("--listen <host:port>", "address to serve on (loopback unless --allow-remote)", local.listen)
    .option("--allow-remote", "allow a non-loopback --listen address (the API becomes reachable from the network)")
    .option("--ingress-listen <host:port>", `where published ports are served, HTTP and HTTPS on one port, or "none" (default 127.0.0.1:${PORT_LIMITS.defaultIngressPort}: the API's port + 60)`)
    .option("--ingress-domain <domain>", `published ports are <port>-<runtime-uuid>.<domain> (default ${PORT_LIMITS.defaultDomain}: no DNS needed)`)
    .option("--ingress-wake-timeout <secs>", `how long a request waits for a suspended or starting app before 503 (default ${PORT_LIMITS.wakeTimeoutSecsDefault})`, boundedNumber("--ingress-wake-timeout", { min: 1, max: PORT_LIMITS.wakeTimeoutSecsMax, integer: true }))
    .addHelpText(
      "after",
      `\nExamples:\n  sudo runta daemon run\n  sudo runta daemon run --listen 127.0.0.1:${DEFAULTS.port + 1} --data-dir /srv/runta\n  sudo runta daemon run --ingress-listen 0.0.0.0:443 --ingress-domain apps.example.com`,
    )
    .action((opts: DaemonRunOptions) => runDaemonRun(ctx, opts));
  daemon
    .command("start")
    .description("Start the daemon in the background (no-op when it already answers)")
    .addHelpText("after", "\nExamples:\n  sudo runta daemon start")
    .action(() => runDaemonStart(ctx));
  daemon
    .command("stop")
    .description("Stop the background daemon (SIGTERM, then wait); runtimes keep running and are adopted at next start")
    .addHelpText("after", "\nExamples:\n  sudo runta daemon stop")
    .action(() => runDaemonStop(ctx));
  daemon
    .command("status")
    .description("Show whether the local daemon answers, its endpoint, pid and version")
    .option("--json", "print the status as JSON")
    .addHelpText("after", "\nExamples:\n  runta daemon status\n  runta daemon status --json")
    .action((opts: { json?: boolean }) => runDaemonStatus(ctx, opts));
  return daemon;
}

/** Runs the daemon in this process until it is signalled. */
export async function runDaemonRun(ctx: CliContext, opts: DaemonRunOptions): Promise<void> {
  const { daemonOptionsFromEnv, runDaemon } = await import("../../server/daemon.js");
  const run = async () => {
    // The environment is read as the runta-daemon executable reads it (RUNTA_NETWORK_CIDR, RUNTA_EGRESS_CA_BUNDLE, …); flags win.
    const env = daemonOptionsFromEnv(ctx.env);
    return runDaemon({
      ...env,
      dataDir: opts.dataDir,
      listen: opts.listen,
      allowRemote: opts.allowRemote === true,
      ingress: {
        listen: opts.ingressListen ?? env.ingress.listen,
        domain: opts.ingressDomain ?? env.ingress.domain,
        wakeTimeoutSecs: opts.ingressWakeTimeout ?? env.ingress.wakeTimeoutSecs,
      },
    });
  };
  const d = await run().catch((err: unknown) => {
    // What is refused as invalid comes from these flags or the environment (a malformed --listen, a wake timeout in words): a usage error.
    // By its code, not instanceof: the daemon's modules are loaded beside the CLI bundle, with their own RuntaError.
    if (err instanceof Error && (err as { code?: unknown }).code === "invalid_argument") throw new UsageError(err.message);
    throw err;
  });
  ctx.io.stderr.write(`runta daemon listening on ${d.endpoint}\n`);
  await d.done;
}

/** A client for the local daemon; the token is used when readable (version needs it, ping does not). */
async function localProbe(ctx: CliContext) {
  const { Runta } = await import("../../client/index.js");
  const local = localDefaults(ctx.env);
  let token: string | undefined;
  try {
    token = readLocalToken(local).value;
  } catch {
    token = undefined;
  }
  return new Runta({ endpoint: local.endpoint, token });
}

/** Starts the background daemon unless one already answers; prints endpoint and log file. */
export async function runDaemonStart(ctx: CliContext): Promise<void> {
  const local = localDefaults(ctx.env);
  const probe = await localProbe(ctx);
  const { startDaemonProcess } = await import("../embedded.js");
  if (await probe.ping(1500)) {
    ctx.io.stdout.write(`runta daemon already running at ${local.endpoint}\n`);
    return;
  }
  const progress = await spinner(ctx, "starting runta daemon…");
  try {
    const pid = await startDaemonProcess(ctx, local, probe);
    progress.stop();
    ctx.io.stdout.write(`runta daemon started at ${local.endpoint} (pid ${pid}, log ${local.logFile})\n`);
  } catch (err) {
    progress.fail();
    throw err;
  }
}

/** Stops the background daemon. */
export async function runDaemonStop(ctx: CliContext): Promise<void> {
  const local = localDefaults(ctx.env);
  const { stopDaemonProcess } = await import("../embedded.js");
  const progress = await spinner(ctx, "stopping runta daemon…");
  const pid = await stopDaemonProcess(local).finally(() => progress.stop());
  ctx.io.stdout.write(pid === undefined ? "runta daemon is not running\n" : `runta daemon stopped (pid ${pid})\n`);
}

/** Reports the local daemon: endpoint, pid, version; exit 1 when it does not answer. */
export async function runDaemonStatus(ctx: CliContext, opts: { json?: boolean }): Promise<void> {
  const local = localDefaults(ctx.env);
  const { runningPid } = await import("../embedded.js");
  const pid = runningPid(local) ?? null;
  const probe = await localProbe(ctx);
  const up = await probe.ping(1500);
  const version = up ? await probe.version().then((v) => v.runta).catch(() => null) : null;
  const status = { running: up, endpoint: local.endpoint, pid, version, data_dir: local.dataDir, log_file: local.logFile };
  if (opts.json) printJson(ctx, status);
  else {
    ctx.io.stdout.write(
      [
        `status:   ${up ? "running" : "not running"}`,
        `endpoint: ${local.endpoint}`,
        `pid:      ${pid ?? "-"}`,
        `version:  ${version ?? "-"}`,
        `data dir: ${local.dataDir}`,
        `log:      ${local.logFile}`,
      ].join("\n") + "\n",
    );
  }
  if (!up) {
    const { RuntaError } = await import("../../api/errors.js");
    throw new RuntaError("unavailable", `the runta daemon does not answer at ${local.endpoint} — start it with runta daemon start`);
  }
}
