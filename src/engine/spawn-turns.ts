/**
 * Process spawns take turns with the rest of the daemon. node's spawn is synchronous (fork + exec in the event
 * loop's thread) and costs more the larger the daemon's memory: on a loaded 2-core host 15–90 ms each, so 256 exec
 * sessions started at once blocked `GET /v1/health` for seconds (issue 21, item 5). Here each spawn waits for its
 * own event-loop iteration, so I/O (health probes, other clients) is served between any two spawns, and a burst
 * costs the others one spawn's stall at a time instead of the whole burst's.
 */
export class SpawnTurns {
  private last: Promise<void> = Promise.resolve();
  /** Turns handed out so far (for tests). */
  given = 0;

  /** Resolves when the caller may spawn: after every earlier caller's turn, each in a later loop iteration. */
  next(): Promise<void> {
    // An immediate queued from within the check phase runs in the next iteration, after that iteration's poll.
    const turn = this.last.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(() => {
      this.given++;
    });
    this.last = turn;
    return turn;
  }
}

/** The daemon's one queue of spawn turns: every runc process is started through it. */
export const spawnTurns = new SpawnTurns();

/**
 * At most `max` tasks at once, the rest wait in arrival order. Exec starts go through one: each `runc exec` burns
 * ~50 ms of CPU before its command runs, so 256 at once on 2 cores starve the daemon itself (health waited ~1 s);
 * a few at a time keep the same throughput and leave the daemon its share.
 */
export class Bounded {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
