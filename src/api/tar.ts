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

/** The part of a tar-stream pack these helpers use (structural, so this file needs no tar-stream types). */
interface PackLike {
  entry(header: object, callback: (err?: Error | null) => void): NodeJS.WritableStream;
}

/** The part of a tar-stream extract these helpers use. */
interface ExtractLike {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tar-stream's listeners differ per event
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** Resolves when `w` can take more, or when it or one of `alsoClosing` closes (whoever listens reports the error). */
export function roomIn(w: NodeJS.WritableStream, ...alsoClosing: NodeJS.EventEmitter[]): Promise<void> {
  return new Promise((resolve) => {
    const all = [w, ...alsoClosing];
    const done = () => {
      w.off("drain", done);
      for (const e of all) e.off("close", done);
      resolve();
    };
    w.on("drain", done);
    for (const e of all) e.on("close", done);
  });
}

/** Adds one entry to a tar-stream pack, its body written by `fill`, and resolves once the pack took all of it. */
export function addEntry(pack: PackLike, header: object, fill?: (w: NodeJS.WritableStream) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const w = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    if (!fill) return void w.end();
    fill(w).then(() => w.end(), reject);
  });
}

/**
 * Hands each entry of a tar-stream extract to `place`, one at a time; resolves when the archive ended, rejects with
 * the first failure (of `place`, which stops the extract, or of the archive itself).
 */
export function placeEntries<H, B extends NodeJS.ReadableStream>(extract: ExtractLike, place: (header: H, body: B) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    extract.on("entry", (header: H, body: B, next: (err?: Error) => void) => {
      place(header, body).then(
        () => next(),
        (err: Error) => {
          body.resume();
          next(err);
        },
      );
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
  });
}
