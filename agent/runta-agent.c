/*
 * runta-agent: the init (PID 1) of a runtime, and its exec agent.
 *
 * As init it does what catatonit -P did: reaps every orphan in the runtime's pid namespace and exits on SIGTERM or
 * SIGINT (the kernel then SIGKILLs the rest of the namespace; containers.ts relies on that for shutdown).
 *
 * As agent it starts processes on the daemon's request, so an exec costs a fork here instead of a `runc exec`
 * (which re-joins every namespace and re-applies the whole config each time). The listening socket is fd 3, handed
 * over by runc (`runc run --preserve-fds 1`) from this same binary's launcher mode (`--listen PATH -- runc ...`):
 * it is bound on the host, in the runtime's directory, which the runtime cannot see, and it outlives a daemon
 * restart because this process holds it. As a second fence every connection's peer must be outside the runtime's
 * pid namespace (SO_PEERCRED pid 0); the fd is close-on-exec and this process is not dumpable, so no process of the
 * runtime can inherit it, open it through /proc/1/fd or take it with ptrace/pidfd_getfd (no CAP_SYS_PTRACE).
 *
 * The process is this init's child, so it runs in the runtime's namespaces and cgroup, under the seccomp filter and
 * no_new_privs runc gave the init; capabilities can only be dropped from the init's (which are exec's: spec.ts
 * CAPABILITIES), user, groups, rlimits, env, cwd, session and tty are set from the process spec the daemon built
 * (spec.ts buildExecProcess, encoded by src/engine/agent/protocol.ts).
 *
 * Wire: frames of [kind:1][length:4 big-endian][payload], one exec per connection. Kinds are listed in protocol.ts.
 * Written in C because it is PID 1 of every runtime: a static binary of ~800 KiB that needs nothing inside the
 * runtime's image, starts in a millisecond and holds a few hundred KiB of memory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <grp.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define LISTEN_FD 3
#define MAX_CONNS 1024
#define MAX_FRAME (4u << 20)
#define OUT_HIGH (256u << 10)
#define CHUNK 65536
#define DONE_KEEP 512
#define MAX_SPARES 16
/* Largest spawn request a spare takes (one datagram on its socket); a larger one forks afresh. */
#define SPARE_MAX (128u << 10)

/* Frame kinds (protocol.ts has the same table). */
enum {
  K_STDOUT = 1, K_STDERR = 2, K_STARTED = 3, K_EXIT = 4, K_ERROR = 5, K_UNKNOWN = 6, K_PONG = 7,
  K_FORKED = 8,
  K_SPAWN = 16, K_STDIN = 17, K_CLOSE_STDIN = 18, K_SIGNAL = 19, K_RESIZE = 20, K_WAIT = 21, K_PING = 22, K_GO = 23,
  K_SPARE = 24,
};

struct buf { unsigned char *p; size_t len, cap; };

struct conn {
  int fd;
  struct buf in, out;
  int closing;          /* done: shut our side down once `out` is flushed, close at the daemon's end of file */
  int shut;             /* our side is shut down */
  struct exec *exec;    /* the exec this connection started, or waits for */
  struct spare *spare;  /* the spare this connection asked for: it lives as long as the connection */
};

/*
 * A spare: a child forked ahead of an exec and held, which the daemon puts in the cgroup of the exec to come (named by
 * the exec id it chose) before it is let go (K_GO marks it ready; the child itself waits for its spawn request). The
 * exec that names it then costs no fork, no cgroup move and no host pid lookup: the move, a cgroup v1 write that waits
 * for an RCU grace period, was made before anyone waited for it. Nothing runs in it but this agent's code until the
 * request comes, and the agent sends a request only to a ready spare, so no command ever runs outside its cgroup.
 */
struct spare {
  char id[64];
  pid_t pid;
  int sock;             /* our end of the spare's socket (SOCK_SEQPACKET): one spawn request and its fds */
  int ready;            /* the daemon placed it (K_GO) */
  struct conn *conn;
};

struct exec {
  pid_t pid;
  char id[64];
  int detached, tty;
  int in_fd, out_fd, err_fd; /* our ends; with a tty out_fd is the master and in_fd == out_fd */
  struct buf in;             /* stdin not yet taken by the command */
  int close_in;              /* close (or type ^D) once `in` is written */
  struct conn *conn;
  int live;
  int report_fd;             /* until the command runs: why it could not (close-on-exec in the child) */
  int go_fd;                 /* while the daemon places the child in its cgroup: one byte lets it go on */
};

static struct conn *conns[MAX_CONNS];
static struct exec *execs[MAX_CONNS];
static struct spare *spares[MAX_SPARES];
/* argv[0] of this process: a spare writes its name over it, so `ps` inside the runtime says what it is. */
static char *argv0;
static size_t argv0_len;
/* Detached execs that ended: id and status, kept for a daemon that restarted and asks (K_WAIT). */
static struct { char id[64]; int code; } done[DONE_KEEP];
static int done_next;

static void die(const char *what) {
  fprintf(stderr, "runta-agent: %s: %s\n", what, strerror(errno));
  _exit(1);
}

static void buf_add(struct buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    unsigned char *q = realloc(b->p, cap);
    if (!q) die("realloc");
    b->p = q, b->cap = cap;
  }
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void buf_drop(struct buf *b, size_t n) {
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

static void frame(struct conn *c, int kind, const void *p, size_t n) {
  unsigned char h[5] = {(unsigned char)kind, (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
  buf_add(&c->out, h, 5);
  if (n) buf_add(&c->out, p, n);
}

static void frame_text(struct conn *c, int kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void frame_text(struct conn *c, int kind, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  frame(c, kind, text, n < 0 ? 0 : (size_t)n >= sizeof text ? sizeof text - 1 : (size_t)n);
}

static void nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* ---- the spawn request: NUL-terminated "k=value" items (protocol.ts encodeSpawn) ---- */

struct spec {
  char *args[4096]; int nargs;
  char *env[4096]; int nenv;
  const char *cwd;
  uid_t uid; gid_t gid;
  gid_t groups[256]; int ngroups;
  int tty, nnp, detached, hold;
  const char *spare;
  uint64_t bounding, effective, permitted;
  struct { int type; rlim_t soft, hard; } rl[32]; int nrl;
  unsigned short rows, cols;
  const char *id;
};

static int parse_spec(char *p, size_t n, struct spec *s) {
  memset(s, 0, sizeof *s);
  s->cwd = "/";
  s->rows = 24, s->cols = 80;
  s->id = "";
  if (n == 0 || p[n - 1] != 0) return -1;
  for (char *item = p; item < p + n; item += strlen(item) + 1) {
    if (item[0] == 0 || item[1] != '=') return -1;
    char *v = item + 2;
    switch (item[0]) {
      case 'a': if (s->nargs < 4095) s->args[s->nargs++] = v; else return -1; break;
      case 'e': if (s->nenv < 4095) s->env[s->nenv++] = v; else return -1; break;
      case 'c': s->cwd = v; break;
      case 'u': s->uid = (uid_t)strtoul(v, 0, 10); break;
      case 'g': s->gid = (gid_t)strtoul(v, 0, 10); break;
      case 'G': if (s->ngroups < 256) s->groups[s->ngroups++] = (gid_t)strtoul(v, 0, 10); else return -1; break;
      case 't': s->tty = v[0] == '1'; break;
      case 'n': s->nnp = v[0] == '1'; break;
      case 'd': s->detached = v[0] == '1'; break;
      case 'H': s->hold = v[0] == '1'; break;
      case 'b': s->bounding = strtoull(v, 0, 10); break;
      case 'E': s->effective = strtoull(v, 0, 10); break;
      case 'p': s->permitted = strtoull(v, 0, 10); break;
      case 'h': s->rows = (unsigned short)atoi(v); break;
      case 'w': s->cols = (unsigned short)atoi(v); break;
      case 'i': s->id = v; break;
      case 'S': s->spare = v; break;
      case 'r':
        if (s->nrl >= 32 || sscanf(v, "%d,%llu,%llu", &s->rl[s->nrl].type, (unsigned long long *)&s->rl[s->nrl].soft, (unsigned long long *)&s->rl[s->nrl].hard) != 3) return -1;
        s->nrl++;
        break;
      default: return -1;
    }
  }
  s->args[s->nargs] = 0;
  s->env[s->nenv] = 0;
  return s->nargs > 0 && strlen(s->id) < 64 ? 0 : -1;
}

/* ---- the child: becomes the exec'd process, or reports why it could not on `report` (close-on-exec) ---- */

static void fail(int report, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void fail(int report, const char *fmt, ...) {
  char text[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (n > 0) (void)!write(report, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
  _exit(127);
}

/* Go's (runc's) lower-case error texts, which the daemon's one classifier (runc.ts classifyExecFailure) reads. */
static const char *err_text(int e) {
  static char lower[128];
  snprintf(lower, sizeof lower, "%s", strerror(e));
  lower[0] = (char)(lower[0] >= 'A' && lower[0] <= 'Z' ? lower[0] + 32 : lower[0]);
  return lower;
}

static const char *getenv_in(char **env, const char *name) {
  size_t n = strlen(name);
  for (; *env; env++)
    if (strncmp(*env, name, n) == 0 && (*env)[n] == '=') return *env + n + 1;
  return 0;
}

static int capset_raw(uint64_t eff, uint64_t perm) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {{(uint32_t)eff, (uint32_t)perm, 0}, {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), 0}};
  return (int)syscall(SYS_capset, &h, d);
}

static void child(struct spec *s, int report, int go, int fds[3], const char *pts) {
  /* Held until the daemon has put this process in the exec's cgroup: nothing it starts may be outside it. */
  if (go >= 0) {
    char b = 0;
    ssize_t r;
    do r = read(go, &b, 1);
    while (r < 0 && errno == EINTR);
    if (r != 1 || b != 'g') _exit(127);
    close(go);
  }
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, 0);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  /* runc makes every exec'd process a session leader: its pid is its process group and session. */
  if (setsid() < 0) fail(report, "setsid: %s", err_text(errno));
  if (pts) {
    int slave = open(pts, O_RDWR);
    if (slave < 0) fail(report, "open console %s: %s", pts, err_text(errno));
    if (ioctl(slave, TIOCSCTTY, 0) < 0) fail(report, "set controlling terminal: %s", err_text(errno));
    fds[0] = fds[1] = fds[2] = slave;
  }
  for (int i = 0; i < 3; i++)
    if (dup2(fds[i], i) < 0) fail(report, "dup2: %s", err_text(errno));
  if (pts && fds[0] > 2) close(fds[0]);
  for (int i = 0; i < s->nrl; i++) {
    struct rlimit r = {s->rl[i].soft, s->rl[i].hard};
    if (setrlimit(s->rl[i].type, &r) < 0) fail(report, "setrlimit %d: %s", s->rl[i].type, err_text(errno));
  }
  for (int cap = 0; cap <= 63; cap++)
    if (!(s->bounding & (1ULL << cap)) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
      fail(report, "drop capability %d from the bounding set: %s", cap, err_text(errno));
  /* Keep the permitted set across setuid so the spec's set can be put back (then it is exactly the spec's). */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(report, "keepcaps: %s", err_text(errno));
  if (setgroups((size_t)s->ngroups, s->groups) < 0) fail(report, "setgroups: %s", err_text(errno));
  if (setresgid(s->gid, s->gid, s->gid) < 0) fail(report, "setgid %u: %s", s->gid, err_text(errno));
  if (setresuid(s->uid, s->uid, s->uid) < 0) fail(report, "setuid %u: %s", s->uid, err_text(errno));
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail(report, "keepcaps: %s", err_text(errno));
  if (capset_raw(s->effective, s->permitted) < 0) fail(report, "capset: %s", err_text(errno));
  if (s->nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(report, "no_new_privs: %s", err_text(errno));
  if (chdir(s->cwd) < 0) fail(report, "chdir to cwd (\"%s\") set in config.json failed: %s", s->cwd, err_text(errno));
  const char *file = s->args[0];
  char path[PATH_MAX];
  if (!strchr(file, '/')) {
    /* As runc: look the command up in the process's own PATH. */
    const char *dirs = getenv_in(s->env, "PATH");
    int found = 0;
    for (const char *d = dirs ? dirs : ""; d && *d && !found;) {
      const char *end = strchr(d, ':');
      size_t len = end ? (size_t)(end - d) : strlen(d);
      snprintf(path, sizeof path, "%.*s/%s", (int)len, len ? d : ".", file);
      struct stat st;
      if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) found = 1;
      d = end ? end + 1 : 0;
    }
    if (!found) fail(report, "exec: \"%s\": executable file not found in $PATH", file);
    file = path;
  } else {
    struct stat st;
    if (stat(file, &st) < 0) fail(report, "exec: \"%s\": stat %s: %s", file, file, err_text(errno));
  }
  /* runc's words in both cases: its lookup's above, its init's (runc.ts execveFailure) for an execve that failed. */
  execve(file, s->args, s->env);
  fail(report, "exec %s: %s", file, err_text(errno));
}

/* ---- spares ---- */

static struct spare *spare_by_id(const char *id) {
  for (int i = 0; i < MAX_SPARES; i++)
    if (spares[i] && strcmp(spares[i]->id, id) == 0) return spares[i];
  return 0;
}

static struct spare *spare_by_pid(pid_t pid) {
  for (int i = 0; i < MAX_SPARES; i++)
    if (spares[i] && spares[i]->pid == pid) return spares[i];
  return 0;
}

/* Forgets a spare; one that was not used (pid still set) is killed: it must not linger in an exec's cgroup. */
static void spare_drop(struct spare *sp) {
  if (sp->pid > 0) kill(sp->pid, SIGKILL);
  close_fd(&sp->sock);
  if (sp->conn) sp->conn->spare = 0;
  for (int i = 0; i < MAX_SPARES; i++)
    if (spares[i] == sp) spares[i] = 0;
  free(sp);
}

/* The spare's side: holds nothing of the agent's but its socket, waits for its one spawn request, then becomes the
   command exactly as a freshly forked child does (child()). Its socket's end of file: it was let go unused. */
static void spare_child(int sock) __attribute__((noreturn));
static void spare_child(int sock) {
  static char msg[SPARE_MAX];
  static struct spec sp;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, 0);
  /* A stop's SIGTERM ends it as it ends any process of the runtime. */
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  prctl(PR_SET_NAME, "runta-spare", 0, 0, 0);
  if (argv0) memset(argv0, 0, argv0_len), memcpy(argv0, "runta-spare", argv0_len < 11 ? argv0_len : 11);
  /* Other execs' pipes and connections must see their end of file when the agent closes them: only fd 3 stays. */
  if (dup2(sock, LISTEN_FD) < 0) _exit(127);
  fcntl(LISTEN_FD, F_SETFD, FD_CLOEXEC);
  for (int fd = LISTEN_FD + 1; fd < 1024; fd++) close(fd);
  int got[4] = {-1, -1, -1, -1};
  char cbuf[CMSG_SPACE(sizeof got)];
  struct iovec iov = {msg, sizeof msg};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t n;
  do n = recvmsg(LISTEN_FD, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) _exit(0);
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  size_t nfds = cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS ? (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;
  if (nfds < 1 || nfds > 4 || mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) _exit(127);
  memcpy(got, CMSG_DATA(cm), nfds * sizeof(int));
  close(LISTEN_FD);
  /* The request: the terminal's name (empty without one), a NUL, then the spawn payload as the agent received it. */
  size_t plen = strnlen(msg, (size_t)n);
  if (plen == (size_t)n) fail(got[0], "agent: malformed spare request");
  if (parse_spec(msg + plen + 1, (size_t)n - plen - 1, &sp) < 0) fail(got[0], "agent: malformed spawn request");
  int fds[3] = {got[1], got[2], got[3]};
  child(&sp, got[0], -1, fds, plen ? msg : 0);
  _exit(127);
}

/* K_SPARE: forks a spare for the exec id `id` and tells its pid (K_FORKED); it is ready once the daemon says go. */
static void spare_new(struct conn *c, const char *id, size_t n) {
  if (c->exec || c->spare || n == 0 || n >= sizeof c->spare->id || memchr(id, 0, n))
    return frame_text(c, K_ERROR, "agent: malformed spare request"), (void)(c->closing = 1);
  int slot = -1;
  for (int i = 0; i < MAX_SPARES && slot < 0; i++)
    if (!spares[i]) slot = i;
  if (slot < 0) return frame_text(c, K_ERROR, "agent: too many spares"), (void)(c->closing = 1);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return frame_text(c, K_ERROR, "agent: socketpair: %s", err_text(errno)), (void)(c->closing = 1);
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    spare_child(sv[1]);
  }
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return frame_text(c, K_ERROR, "agent: fork: %s", err_text(errno)), (void)(c->closing = 1);
  }
  struct spare *sp = calloc(1, sizeof *sp);
  if (!sp) die("calloc");
  memcpy(sp->id, id, n);
  sp->pid = pid, sp->sock = sv[0], sp->conn = c;
  nonblock(sp->sock);
  spares[slot] = sp;
  c->spare = sp;
  frame_text(c, K_FORKED, "%d", (int)pid);
}

/* Hands a spawn request to a ready spare: one datagram (never blocking: the spare's socket is empty) with the
   child's ends of its stdio and report pipe. Returns 0 when the spare has it. */
static int spare_send(struct spare *sp, const char *payload, size_t n, int report, const int fds[3], const char *pts) {
  size_t plen = pts ? strlen(pts) : 0;
  if (!sp->ready || plen + 1 + n > SPARE_MAX) return -1;
  struct iovec iov[2] = {{(void *)(pts ? pts : ""), plen + 1}, {(void *)payload, n}};
  int list[4] = {report, fds[0], fds[1], fds[2]};
  size_t nf = pts ? 1 : 4;
  char cbuf[CMSG_SPACE(sizeof list)];
  memset(cbuf, 0, sizeof cbuf);
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = cbuf, .msg_controllen = CMSG_SPACE(nf * sizeof(int))};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_SOCKET, cm->cmsg_type = SCM_RIGHTS, cm->cmsg_len = CMSG_LEN(nf * sizeof(int));
  memcpy(CMSG_DATA(cm), list, nf * sizeof(int));
  ssize_t w;
  do w = sendmsg(sp->sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  return w == (ssize_t)(plen + 1 + n) ? 0 : -1;
}

/* ---- execs ---- */

static struct exec *exec_by_pid(pid_t pid) {
  for (int i = 0; i < MAX_CONNS; i++)
    if (execs[i] && execs[i]->pid == pid) return execs[i];
  return 0;
}

static struct exec *exec_by_id(const char *id) {
  for (int i = 0; i < MAX_CONNS; i++)
    if (execs[i] && execs[i]->live && id[0] && strcmp(execs[i]->id, id) == 0) return execs[i];
  return 0;
}

/* Waits for the child's exec (the report pipe's end of file) or its reason not to, and tells the daemon. */
static void started(struct exec *e) {
  struct conn *c = e->conn;
  char why[1024];
  ssize_t got, len = 0;
  while ((got = read(e->report_fd, why + len, sizeof why - 1 - (size_t)len)) > 0 || (got < 0 && errno == EINTR))
    if (got > 0) len += got;
  close_fd(&e->report_fd);
  if (len > 0) {
    /* The child exits 127; the reaper drops it. */
    if (c) frame(c, K_ERROR, why, (size_t)len), c->exec = 0, c->closing = 1;
    close_fd(&e->in_fd);
    if (!e->tty) close_fd(&e->out_fd);
    e->out_fd = -1;
    close_fd(&e->err_fd);
    e->conn = 0;
    return;
  }
  e->live = 1;
  for (int *f = &e->in_fd; f <= &e->err_fd; f++) if (*f >= 0) nonblock(*f);
  if (c) frame_text(c, K_STARTED, "%d", (int)e->pid);
}

static void spawn(struct conn *c, char *payload, size_t n) {
  static struct spec s;
  if (c->exec) return frame_text(c, K_ERROR, "agent: this connection already started an exec"), (void)(c->closing = 1);
  /* A daemon that gave up waiting (a hung agent) has closed the connection and run the command another way. */
  struct pollfd gone = {c->fd, POLLRDHUP, 0};
  if (poll(&gone, 1, 0) > 0 && gone.revents & (POLLRDHUP | POLLHUP)) return (void)(c->closing = 1);
  if (parse_spec(payload, n, &s) < 0) return frame_text(c, K_ERROR, "agent: malformed spawn request"), (void)(c->closing = 1);
  int slot = -1;
  for (int i = 0; i < MAX_CONNS && slot < 0; i++)
    if (!execs[i]) slot = i;
  if (slot < 0) return frame_text(c, K_ERROR, "agent: too many execs at once"), (void)(c->closing = 1);
  int fds[3] = {-1, -1, -1}, ours[3] = {-1, -1, -1}, report[2];
  char *pts = 0;
  if (pipe2(report, O_CLOEXEC) < 0) return frame_text(c, K_ERROR, "agent: pipe: %s", err_text(errno)), (void)(c->closing = 1);
  if (s.detached) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    fds[0] = fds[1] = fds[2] = null;
  } else if (s.tty) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || !(pts = ptsname(m))) {
      frame_text(c, K_ERROR, "agent: cannot allocate a terminal: %s", err_text(errno));
      close(report[0]), close(report[1]);
      if (m >= 0) close(m);
      c->closing = 1;
      return;
    }
    struct winsize ws = {s.rows, s.cols, 0, 0};
    ioctl(m, TIOCSWINSZ, &ws);
    ours[0] = ours[1] = m;
  } else {
    int p[3][2];
    for (int i = 0; i < 3; i++)
      if (pipe2(p[i], O_CLOEXEC) < 0) die("pipe2");
    fds[0] = p[0][0], ours[0] = p[0][1];
    fds[1] = p[1][1], ours[1] = p[1][0];
    fds[2] = p[2][1], ours[2] = p[2][0];
  }
  int go[2] = {-1, -1};
  pid_t pid = -1;
  /* The exec's spare, placed in its cgroup ahead: it takes the request instead of a fork. Named but not usable (gone,
     not placed yet, a request too large): it is killed, and the exec forks afresh and is held for its cgroup. */
  struct spare *sp = s.spare ? spare_by_id(s.spare) : 0;
  if (sp && spare_send(sp, payload, n, report[1], fds, pts) == 0) pid = sp->pid, sp->pid = 0;
  if (sp) spare_drop(sp);
  if (pid < 0) {
    if (s.hold && pipe2(go, O_CLOEXEC) < 0) die("pipe2");
    pid = fork();
    if (pid < 0) {
      frame_text(c, K_ERROR, "agent: fork: %s", err_text(errno));
      c->closing = 1;
    } else if (pid == 0) {
      close(report[0]);
      if (go[1] >= 0) close(go[1]);
      child(&s, report[1], go[0], fds, pts);
    }
  }
  close(report[1]);
  if (go[0] >= 0) close(go[0]);
  if (s.detached) close(fds[0]);
  else if (!s.tty) close(fds[0]), close(fds[1]), close(fds[2]);
  if (pid < 0) {
    close(report[0]);
    if (go[1] >= 0) close(go[1]);
    for (int i = 0; i < 3; i++) if (ours[i] >= 0 && (i == 0 || ours[i] != ours[0])) close(ours[i]);
    return;
  }
  struct exec *e = calloc(1, sizeof *e);
  if (!e) die("calloc");
  e->pid = pid, e->detached = s.detached, e->tty = s.tty, e->conn = c;
  e->in_fd = ours[0], e->out_fd = ours[1], e->err_fd = ours[2];
  e->report_fd = report[0], e->go_fd = go[1];
  snprintf(e->id, sizeof e->id, "%s", s.id);
  execs[slot] = e;
  c->exec = e;
  if (e->go_fd >= 0) frame_text(c, K_FORKED, "%d", (int)pid);
  else started(e);
}

/* The child may go on (K_GO): it runs the command or says why it cannot. */
static void release(struct exec *e) {
  if (e->go_fd < 0) return;
  (void)!write(e->go_fd, "g", 1);
  close_fd(&e->go_fd);
  started(e);
}

/* Sends a signal to the exec's process group, or to its whole session (background jobs in other groups too). */
static void signal_exec(struct exec *e, int sig, int session) {
  if (!e->live) return;
  if (!session) {
    kill(-e->pid, sig);
    return;
  }
  DIR *d = opendir("/proc");
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
    char path[300], stat[512];
    snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0) continue;
    stat[n] = 0;
    char *rp = strrchr(stat, ')');
    int ppid, pgrp, sid;
    char state;
    if (rp && sscanf(rp + 1, " %c %d %d %d", &state, &ppid, &pgrp, &sid) == 4 && sid == e->pid) kill(atoi(de->d_name), sig);
  }
  if (d) closedir(d);
}

/* Reads what is there of one output fd into its connection; returns 0 at EOF or error (the fd is closed). */
static int pump(struct exec *e, int *fd, int kind) {
  char chunk[CHUNK];
  ssize_t n = read(*fd, chunk, sizeof chunk);
  if (n > 0) {
    if (e->conn) frame(e->conn, kind, chunk, (size_t)n);
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
  if (e->tty && e->in_fd == *fd) e->in_fd = -1;
  close_fd(fd);
  return 0;
}

/* Reads what is ready now (a bounded amount: a background job may write without end), without waiting. */
static void drain(struct exec *e, int *fd, int kind) {
  for (int i = 0; i < 64 && *fd >= 0 && e->conn; i++) {
    struct pollfd p = {*fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP))) return;
    if (!pump(e, fd, kind)) return;
  }
}

static void remember_done(struct exec *e, int code) {
  if (!e->detached || !e->id[0]) return;
  snprintf(done[done_next].id, sizeof done[0].id, "%s", e->id);
  done[done_next].code = code;
  done_next = (done_next + 1) % DONE_KEEP;
}

static void exec_ended(struct exec *e, int status) {
  int code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  if (e->live) {
    /* What the command wrote before it ended is in the pipes: deliver it before the exit. Background jobs' later
       output is not waited for (they get EPIPE / SIGPIPE, as under runc exec). */
    drain(e, &e->out_fd, K_STDOUT);
    drain(e, &e->err_fd, K_STDERR);
    remember_done(e, code);
    if (e->conn) {
      frame_text(e->conn, K_EXIT, "%d", code);
      e->conn->closing = 1;
    }
    /* A daemon waiting for this detached exec on another connection (after a restart) hears it too. */
    for (int i = 0; i < MAX_CONNS; i++)
      if (conns[i] && conns[i]->exec == e && conns[i] != e->conn) frame_text(conns[i], K_EXIT, "%d", code), conns[i]->closing = 1, conns[i]->exec = 0;
  }
  close_fd(&e->in_fd);
  if (e->tty) e->out_fd = -1; else close_fd(&e->out_fd);
  close_fd(&e->err_fd);
  close_fd(&e->report_fd);
  close_fd(&e->go_fd);
  free(e->in.p);
  if (e->conn) e->conn->exec = 0;
  for (int i = 0; i < MAX_CONNS; i++) {
    if (conns[i] && conns[i]->exec == e) conns[i]->exec = 0;
    if (execs[i] == e) execs[i] = 0;
  }
  free(e);
}

static void conn_close(int i) {
  struct conn *c = conns[i];
  struct exec *e = c->exec;
  /* A spare nobody used: the daemon that asked for it is gone (or gave it up). */
  if (c->spare) spare_drop(c->spare);
  if (e && e->conn == c) {
    e->conn = 0;
    /* A child still held for its cgroup is let go of: it exits (127) without running anything. */
    close_fd(&e->go_fd);
    /* The daemon went away: a piped or terminal exec loses its stdio (EOF in, EPIPE out), a detached one goes on. */
    if (!e->detached) {
      if (e->tty && e->out_fd >= 0) close(e->out_fd), e->out_fd = e->in_fd = -1;
      close_fd(&e->in_fd), close_fd(&e->out_fd), close_fd(&e->err_fd);
    }
  }
  close(c->fd);
  free(c->in.p), free(c->out.p), free(c);
  conns[i] = 0;
}

/* Writes pending stdin without blocking (a command that does not read must not stall this loop); then the close. */
static void feed(struct exec *e) {
  while (e->in.len && e->in_fd >= 0) {
    ssize_t w = write(e->in_fd, e->in.p, e->in.len);
    if (w > 0) buf_drop(&e->in, (size_t)w);
    else if (w < 0 && errno == EINTR) continue;
    else if (w < 0 && errno == EAGAIN) return;
    else { e->in.len = 0; break; }
  }
  if (!e->close_in || e->in_fd < 0) return;
  e->close_in = 0;
  if (e->tty) (void)!write(e->in_fd, "\x04", 1);
  else close_fd(&e->in_fd);
}

static void handle_frame(struct conn *c, int kind, char *p, size_t n) {
  struct exec *e = c->exec && c->exec->conn == c ? c->exec : 0;
  switch (kind) {
    case K_SPAWN: spawn(c, p, n); break;
    case K_STDIN:
      if (e && e->in_fd >= 0 && !e->close_in) {
        buf_add(&e->in, p, n);
        feed(e);
      }
      break;
    case K_CLOSE_STDIN:
      if (e && e->in_fd >= 0) {
        e->close_in = 1;
        feed(e);
      }
      break;
    case K_SIGNAL:
      if (n == 2 && c->exec) signal_exec(c->exec, (unsigned char)p[0], p[1]);
      break;
    case K_RESIZE:
      if (e && e->tty && e->out_fd >= 0 && n == 4) {
        struct winsize ws = {(unsigned short)((unsigned char)p[0] << 8 | (unsigned char)p[1]), (unsigned short)((unsigned char)p[2] << 8 | (unsigned char)p[3]), 0, 0};
        ioctl(e->out_fd, TIOCSWINSZ, &ws);
      }
      break;
    case K_WAIT: {
      /* A daemon that restarted asks after a detached exec: running (held until it ends), ended (its status), or
         unknown to this init (it ended too long ago, or the runtime rebooted). Signals may follow on this connection. */
      char id[64];
      snprintf(id, sizeof id, "%.*s", (int)(n < 63 ? n : 63), p);
      struct exec *w = exec_by_id(id);
      if (w) {
        c->exec = w;
        frame_text(c, K_STARTED, "%d", (int)w->pid);
        break;
      }
      for (int i = 0; i < DONE_KEEP; i++)
        if (id[0] && strcmp(done[i].id, id) == 0) {
          frame_text(c, K_EXIT, "%d", done[i].code);
          c->closing = 1;
          return;
        }
      frame(c, K_UNKNOWN, 0, 0);
      c->closing = 1;
      break;
    }
    case K_PING: frame_text(c, K_PONG, "runta-agent 1"); break;
    case K_GO:
      if (e) release(e);
      else if (c->spare) c->spare->ready = 1;
      break;
    case K_SPARE: spare_new(c, p, n); break;
    default: frame_text(c, K_ERROR, "agent: unknown frame kind %d", kind), c->closing = 1;
  }
}

static void conn_read(int i) {
  struct conn *c = conns[i];
  char chunk[CHUNK];
  ssize_t n = read(c->fd, chunk, sizeof chunk);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return conn_close(i);
  if (n < 0) return;
  buf_add(&c->in, chunk, (size_t)n);
  while (c->in.len >= 5 && conns[i]) {
    uint32_t len = (uint32_t)c->in.p[1] << 24 | (uint32_t)c->in.p[2] << 16 | (uint32_t)c->in.p[3] << 8 | c->in.p[4];
    if (len > MAX_FRAME) return conn_close(i);
    if (c->in.len < 5 + (size_t)len) break;
    int kind = c->in.p[0];
    /* The payload is handled in place, then dropped; spawn parses it into pointers it uses before returning. */
    char *payload = malloc(len + 1);
    if (!payload) die("malloc");
    memcpy(payload, c->in.p + 5, len);
    payload[len] = 0;
    buf_drop(&c->in, 5 + (size_t)len);
    if (!c->closing) handle_frame(c, kind, payload, len);
    free(payload);
  }
}

static void accept_one(int lfd) {
  int fd = accept4(lfd, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  /* Only a process outside this pid namespace (the daemon) is served: inside it the peer has a pid of its own. */
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid != 0) {
    static const char no[] = "\x05\x00\x00\x00\x3f" "agent: refused: only the runta daemon (outside this runtime) may use this socket";
    (void)!send(fd, no, sizeof no - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    char drop[512];
    while (recv(fd, drop, sizeof drop, MSG_DONTWAIT) > 0) {
    }
    close(fd);
    return;
  }
  for (int i = 0; i < MAX_CONNS; i++)
    if (!conns[i]) {
      conns[i] = calloc(1, sizeof(struct conn));
      if (!conns[i]) die("calloc");
      conns[i]->fd = fd;
      return;
    }
  close(fd);
}

/* Launcher mode, on the host: bind the socket, make it fd 3, and exec runc (which passes it on as the init's fd 3). */
static int launch(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: runta-agent --listen PATH -- COMMAND...\n");
    return 2;
  }
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(argv[2]) >= sizeof a.sun_path) {
    fprintf(stderr, "runta-agent: socket path too long: %s\n", argv[2]);
    return 2;
  }
  strcpy(a.sun_path, argv[2]);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s < 0) die("socket");
  unlink(a.sun_path);
  mode_t old = umask(0177);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  umask(old);
  if (listen(s, 128) < 0) die("listen");
  if (s != LISTEN_FD && (dup2(s, LISTEN_FD) < 0 || close(s) < 0)) die("dup2");
  execvp(argv[4], argv + 4);
  die("exec");
  return 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--listen") == 0) return launch(argc, argv);
  if (getpid() != 1) {
    fprintf(stderr, "runta-agent: runs as a runtime's init (PID 1), or on the host as: runta-agent --listen PATH -- COMMAND...\n");
    return 2;
  }
  argv0 = argv[0], argv0_len = strlen(argv[0]);
  /* Not dumpable: no process of the runtime may ptrace this one, read its memory or take its fds. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  int opt = 0;
  socklen_t optlen = sizeof opt;
  int lfd = getsockopt(LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &opt, &optlen) == 0 && opt ? LISTEN_FD : -1;
  if (lfd >= 0) fcntl(lfd, F_SETFD, FD_CLOEXEC), nonblock(lfd);
  /* Everything else runc may have passed is closed: nothing but the exec's own stdio reaches a command. */
  for (int fd = 3; fd < 1024; fd++)
    if (fd != lfd) close(fd);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD), sigaddset(&mask, SIGTERM), sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, 0);
  signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd");
  static struct pollfd pfd[2 + MAX_CONNS * 4];
  static void *who[2 + MAX_CONNS * 4];
  static int what[2 + MAX_CONNS * 4];
  for (;;) {
    int n = 0;
    pfd[n++] = (struct pollfd){sfd, POLLIN, 0};
    if (lfd >= 0) pfd[n++] = (struct pollfd){lfd, POLLIN, 0};
    for (int i = 0; i < MAX_CONNS; i++) {
      struct conn *c = conns[i];
      if (c) {
        /* Closing with unread data would reset the connection, and the daemon could lose the last frames with it:
           shut our side down, read on until the daemon closes, then close. */
        if (c->closing && c->out.len == 0 && !c->shut) shutdown(c->fd, SHUT_WR), c->shut = 1;
        who[n] = c, what[n] = i;
        /* A command that does not take its stdin stops us reading its connection: the daemon's writes back up. */
        int full = c->exec && c->exec->conn == c && c->exec->in.len >= OUT_HIGH;
        pfd[n++] = (struct pollfd){c->fd, (short)((full ? 0 : POLLIN) | (c->out.len ? POLLOUT : 0)), 0};
      }
      struct exec *e = execs[i];
      /* Output is read only while the daemon keeps up: a slow reader pauses the command (its pipe fills). */
      if (e && e->live && e->conn && e->conn->out.len < OUT_HIGH) {
        if (e->out_fd >= 0) who[n] = e, what[n] = -1, pfd[n++] = (struct pollfd){e->out_fd, POLLIN, 0};
        if (e->err_fd >= 0) who[n] = e, what[n] = -2, pfd[n++] = (struct pollfd){e->err_fd, POLLIN, 0};
      }
      if (e && e->live && e->in_fd >= 0 && (e->in.len || e->close_in)) who[n] = e, what[n] = -3, pfd[n++] = (struct pollfd){e->in_fd, POLLOUT, 0};
    }
    if (poll(pfd, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (int k = 2 - (lfd < 0); k < n; k++) {
      if (!pfd[k].revents) continue;
      if (what[k] >= 0) {
        int i = what[k];
        if (conns[i] != who[k]) continue;
        if (pfd[k].revents & POLLOUT) {
          struct conn *c = conns[i];
          ssize_t w = send(c->fd, c->out.p, c->out.len, MSG_DONTWAIT | MSG_NOSIGNAL);
          if (w > 0) buf_drop(&c->out, (size_t)w);
          else if (w < 0 && errno != EAGAIN && errno != EINTR) { conn_close(i); continue; }
        }
        if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) conn_read(i);
      } else {
        struct exec *e = who[k];
        int alive = 0;
        for (int i = 0; i < MAX_CONNS; i++) alive |= execs[i] == e;
        if (!alive) continue;
        if (what[k] == -1 && e->out_fd == pfd[k].fd) pump(e, &e->out_fd, K_STDOUT);
        if (what[k] == -2 && e->err_fd == pfd[k].fd) pump(e, &e->err_fd, K_STDERR);
        if (what[k] == -3 && e->in_fd == pfd[k].fd) feed(e);
      }
    }
    if (lfd >= 0 && pfd[1].revents & POLLIN) accept_one(lfd);
    if (pfd[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si)
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) _exit(0);
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct exec *e = exec_by_pid(pid);
        struct spare *sp = e ? 0 : spare_by_pid(pid);
        if (e) exec_ended(e, status);
        /* A spare that died unused (killed from inside the runtime, or by the OOM killer): the exec naming it forks. */
        if (sp) sp->pid = 0, spare_drop(sp);
      }
    }
  }
}
