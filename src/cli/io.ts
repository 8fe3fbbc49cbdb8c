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

/** The real process streams. */
export function processIO(): CliIO {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}

/** Reads a whole stream (stdin for `apply -f -`, tarballs) into one buffer. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
