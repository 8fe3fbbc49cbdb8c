/** Every numeric bound of the API in one place; the README's limits table quotes these. */
export const LIMITS = {
  /** Runtime names: letter or digit first, then letters, digits, `_`, `.`, `-`; 63 characters at most. */
  namePattern: /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/,
  nameMaxLength: 63,
  /**
   * Hostnames (`--hostname`): RFC 1123 labels (letters, digits, inner '-') joined by '.', 63 characters at most (the
   * kernel takes 64). Without one a runtime's hostname is its name.
   */
  hostnamePattern: /^(?=.{1,63}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/,
  /** vCPUs: more than 0, at most this (and at most the host's cores, checked by the engine), in steps of 0.01. */
  vcpusMin: 0.01,
  vcpusMax: 64,
  /** Memory in MiB (and at most the host's memory, checked by the engine). */
  memoryMibMin: 16,
  memoryMibMax: 262_144,
  defaultVcpus: 1,
  defaultMemoryMib: 1024,
  /** Processes (threads included) one runtime may hold at once. */
  pidsLimit: 1024,
  /** Size of each runtime's disk, which holds its writable layer (ext4 on a loop device, sparse on the host). */
  diskMibDefault: 10_240,
  /** `--disk-size-gib` bounds (the file is sparse: the host gives only what the runtime writes). */
  diskGibMin: 1,
  diskGibMax: 1024,
  /** Size of /dev/shm inside a runtime. */
  shmSizeMib: 64,
  /** Environment: variable count and total bytes of names plus values. */
  envMaxEntries: 256,
  envMaxBytes: 128 * 1024,
  labelsMaxEntries: 64,
  labelKeyMaxLength: 63,
  labelValueMaxLength: 256,
  /** A runtime's description (free text shown in inspect; newlines and tabs allowed, other controls not). */
  descriptionMaxLength: 1024,
  /**
   * What a description must not contain: it is shown raw like labels, so no C0/C1 controls (a terminal acts on them)
   * except newline and tab, and no bidi overrides (they make text read backwards).
   */
  descriptionForbidden: /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/,
  descriptionRule: "must not contain control characters other than newline and tab, nor bidirectional overrides",
  /** A runtime's lifetime (`--lifetime`): at most 30 days. */
  lifetimeSecsMax: 30 * 24 * 3600,
  /** A runtime's idle timeout (`--idle-timeout`): at least 5 s (a script's pause between commands must not suspend it), at most 7 days. */
  idleTimeoutSecsMin: 5,
  idleTimeoutSecsMax: 7 * 24 * 3600,
  /** Buffered exec. */
  execTimeoutSecsDefault: 60,
  execTimeoutSecsMax: 3600,
  execMaxOutputBytesDefault: 1024 * 1024,
  execMaxOutputBytesHardMax: 16 * 1024 * 1024,
  execArgvMaxEntries: 4096,
  /** Bytes of one argument: the kernel's MAX_ARG_STRLEN (32 pages) less the terminating NUL. */
  execArgMaxBytes: 131071,
  execStdinMaxBytes: 1024 * 1024,
  /** Buffered execs running at once, per daemon and per runtime. */
  execBufferedMaxConcurrent: 64,
  execBufferedMaxConcurrentPerRuntime: 16,
  /** Exec objects: finished execs each runtime keeps for `runta top` (running ones are always listed). */
  execHistoryPerRuntime: 100,
  /** Terminal sessions: output kept for `runta attach` to replay, and how long one waits for a client to come back. */
  execReplayBytes: 64 * 1024,
  execGraceSecsDefault: 60,
  execGraceSecsMax: 3600,
  /**
   * Output the running buffered execs may hold in the daemon, in all: each reserves 2 × its cap (stdout and stderr)
   * when it starts, and is refused (429) while the reservation does not fit. The answer is streamed, so its JSON
   * escapes (up to 6 bytes per output byte) are never held whole (`npm run stress` measures the daemon's peak RSS).
   * At the default 1 MiB cap all 64 execs fit; at the 16 MiB maximum, 4.
   */
  execBufferedOutputBudgetBytes: 128 * 1024 * 1024,
  /** Runtimes (records in any status) one daemon keeps. */
  runtimesMax: 1000,
  /** Volumes one daemon keeps (each holds a loop device while it exists), and volumes mounted in one runtime. */
  volumesMax: 256,
  volumeMountsMax: 16,
  /** A volume's size (ext4 on a sparse file: the host gives only what is written). */
  volumeMibDefault: 10_240,
  volumeMibMin: 16,
  volumeMibMax: 1_048_576,
  /** Image builds and imports in flight at once (each extracts up to imageImportMaxBytes to disk). */
  imageJobsMaxConcurrent: 4,
  /** Request bodies larger than this get 413 (JSON routes); image imports have their own cap. */
  requestBodyMaxBytes: 2 * 1024 * 1024,
  imageImportMaxBytes: 8 * 1024 * 1024 * 1024,
  /** A JSON request body must arrive whole within this; every body (uploads too) at least this fast (408 otherwise). */
  requestBodyDeadlineSecs: 20,
  requestBodyMinBytesPerSec: 1024,
  /** List pagination. */
  listLimitDefault: 100,
  listLimitMax: 1000,
  /** Grace period of stop before SIGKILL (default, and the most a caller may ask for). */
  stopGraceSecs: 10,
  stopGraceSecsMax: 3600,
  /** Websocket: largest frame accepted, heartbeat interval, and missed heartbeats before the peer is declared dead. */
  wsMaxPayloadBytes: 1024 * 1024,
  wsHeartbeatMs: 5000,
  /** Concurrent streaming sessions per daemon. */
  wsMaxSessions: 256,
  /**
   * Open connections (HTTP and websocket) per daemon. Each holds a file descriptor, and the daemon's descriptor limit
   * is shared with the pipes and ptys of every exec. At the cap a newcomer closes the oldest connection that never
   * carried the token; it is dropped only when every open connection did.
   */
  connectionsMax: 4096,
  /** Time to send a request's headers, and to send the first request on a new connection. */
  headersTimeoutSecs: 20,
} as const;

/** The daemon's defaults (DESIGN §6). */
export const DEFAULTS = {
  host: "127.0.0.1",
  port: 7420,
  dataDir: "/var/lib/runta",
  runcRoot: "/run/runta/runc",
  cgroupParent: "runta",
  image: "default",
} as const;

/** The default endpoint the CLI and SDK fall back to. */
export const DEFAULT_ENDPOINT = `http://${DEFAULTS.host}:${DEFAULTS.port}`;
