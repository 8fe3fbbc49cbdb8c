#!/usr/bin/env node
/**
 * The body-flood attacker of `npm run stress`, run as its own process so that pushing gigabytes does not starve the
 * stress run's health probes of their event loop (the daemon's latency is what is measured, not the attacker's).
 *
 *   node bench/lib/flood.js PORT CLIENTS MS
 *
 * CLIENTS connections to 127.0.0.1:PORT, each sending a request that declares a 1e12-byte body (half to /v1/health,
 * half unauthenticated to /v1/runtimes) and then writing 1 MiB chunks as fast as the socket takes them; when the
 * daemon answers and closes, the client reconnects, until MS pass. Prints {"bytes_sent": N, "connections": N}.
 */
import { connect } from "node:net";

const [port, clients, ms] = process.argv.slice(2).map(Number);
if (!port || !clients || !ms) {
  process.stderr.write("usage: node bench/lib/flood.js PORT CLIENTS MS\n");
  process.exit(2);
}
const chunk = Buffer.alloc(1 << 20, 0x61);
const stop = Date.now() + ms;
let sent = 0;
let connections = 0;

await Promise.all(
  Array.from({ length: clients }, async (_, i) => {
    while (Date.now() < stop) {
      const sock = await new Promise((resolve) => {
        const c = connect(port, "127.0.0.1", () => resolve(c));
        c.on("error", () => resolve(c));
      });
      connections++;
      const path = i % 2 ? "/v1/health" : "/v1/runtimes";
      sock.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 1000000000000\r\n\r\n`);
      while (!sock.destroyed && Date.now() < stop) {
        if (sock.write(chunk)) sent += chunk.length;
        else await new Promise((r) => setTimeout(r, 2));
      }
      sock.destroy();
    }
  }),
);
process.stdout.write(JSON.stringify({ bytes_sent: sent, connections }) + "\n");
