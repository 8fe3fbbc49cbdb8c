/** The streams a command talks to; tests hand in buffered ones, bin/runta.js the process's own. */
export interface CliIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: NodeJS.WritableStream & {
    isTTY?: boolean;
    columns?: number;
    rows?: number;
    on(ev: "resize", cb: () => void): unknown;
  };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Which of the process's streams a command opened: bin/runta.js flushes those at exit and catches stdout's EPIPE. */
export type OnOpen = (name: "stdin" | "stdout" | "stderr", stream: NodeJS.ReadStream | NodeJS.WriteStream) => void;

/**
 * The real process streams, each taken on first use: node makes process.stdout, stderr and stdin when first asked,
 * and making one is a few ms of a command that may print nothing at all (`runta exec worker -- true`).
 */
export function processIO(onOpen: OnOpen = () => undefined): CliIO {
  const io = {} as CliIO;
  for (const name of ["stdin", "stdout", "stderr"] as const) {
    Object.defineProperty(io, name, {
      enumerable: true,
      configurable: true,
      get() {
        const stream = process[name];
        Object.defineProperty(io, name, { value: stream, enumerable: true });
        onOpen(name, stream);
        return stream;
      },
    });
  }
  return io;
}

/** Reads a whole stream (stdin for `apply -f -`, tarballs) into one buffer. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
