/**
 * The one check of a tar member's name, applied by the daemon (files into a runtime) and the CLI (files out of one).
 * Free of zod, so the CLI can load it cheaply.
 */

/**
 * Checks a tar member's name and returns its components: relative, no `..`, no NUL. A leading `./` is fine (tar -C
 * dir . makes those). Absolute names are refused rather than silently re-rooted, so an archive made for the host's
 * `/` is noticed instead of landing somewhere unexpected. Throws an Error naming the member.
 */
export function tarMemberParts(name: string): string[] {
  if (name.includes("\0")) throw new Error(`tar member ${JSON.stringify(name)} contains NUL`);
  if (name.startsWith("/")) throw new Error(`tar member ${JSON.stringify(name)} has an absolute name; archive relative paths (tar -C dir -c .)`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new Error(`tar member ${JSON.stringify(name)} contains '..'; archives may not reach outside their target`);
  return parts;
}

/**
 * Feeds every chunk of `stream` to `write` in order, one at a time (the stream is paused while a chunk is written),
 * and resolves with the byte count at its end. On a failure of `write` the stream is left paused and untouched, not
 * destroyed: it may be an HTTP request still owed an answer, or a tar-stream entry, whose destroy() (tar-stream 2.x)
 * never calls back, which hangs a `for await` loop that is left early.
 */
export function forEachChunk(stream: NodeJS.ReadableStream, write: (chunk: Buffer) => Promise<void>): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let settled = false;
    // The write in flight: 'end' can come while it runs (a paused stream still ends once its buffer is empty).
    let pending: Promise<void> = Promise.resolve();
    const settle = (err: unknown) => {
      if (settled) return;
      settled = true;
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", settle);
      if (err) reject(err);
      else resolve(bytes);
    };
    const onData = (chunk: Buffer | string) => {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      stream.pause();
      pending = pending.then(async () => {
        if (settled) return;
        await write(buf);
        bytes += buf.length;
        stream.resume();
      });
      pending.catch(settle);
    };
    const onEnd = () => void pending.then(() => settle(null), settle);
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", settle);
    stream.resume();
  });
}
