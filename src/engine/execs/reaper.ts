/**
 * The reaper: a few lines of Perl (perl-base is part of every Debian system) that stand between the daemon and
 * `runc exec --detach`, in the role containerd's shim plays for Docker.
 *
 * Why: a foreground `runc exec` without a terminal copies the command's output through pipes of its own and exits
 * only when they reach EOF, so a background job that keeps stdout open (`sleep 60 &`, a server started with `&`)
 * holds the exec open for as long as it lives; the old way out was to kill the whole process group once the command
 * was gone, which killed the background jobs too. With `--detach`, runc hands our pipes straight to the command and
 * exits once it runs, so nothing of runc waits on them; the command's parent is then the nearest child subreaper
 * above runc. The reaper makes itself one (prctl PR_SET_CHILD_SUBREAPER), runs runc, adopts the command when runc
 * exits, waits for it alone and exits with its status (128+n for death by signal n, as runc would). The command's
 * own children are reparented to the runtime's init when it exits (they live in its pid namespace), so background
 * jobs keep running and the exec still ends when its main process does.
 *
 * runc's own failure (it could not start the command) is the reaper's exit status with no pid file written, as with
 * a foreground runc. A runtime's init runs under one too (`runc run -d`, Runc.run), which is how its exit code is
 * known (`runta wait`). With a status file the reaper also writes the command's status there (atomically), so a daemon
 * that restarted meanwhile can still learn how a detached exec ended.
 */
import { errors } from "../../api/index.js";

/** prctl(2)'s syscall number by Node architecture (Perl's syscall() needs the number; perl-base has no syscall.ph). */
const PRCTL_SYSCALL: Partial<Record<NodeJS.Architecture, number>> = { x64: 157, arm64: 167, riscv64: 167, ppc64: 171, s390x: 172 };
const PR_SET_CHILD_SUBREAPER = 36;

/** Perl's path: perl-base installs it here on every Debian system. */
export const PERL_PATH = "/usr/bin/perl";

const SCRIPT = (prctl: number) => `
use strict;
syscall(${prctl}, ${PR_SET_CHILD_SUBREAPER}, 1, 0, 0, 0) == 0 or die "runta reaper: prctl: $!\\n";
my ($pidfile, $statusfile, $notify) = splice(@ARGV, 0, 3);
my $runc = fork() // die "runta reaper: fork: $!\\n";
if ($runc == 0) { open(STDOUT, ">", "/dev/null") if $notify; exec { $ARGV[0] } @ARGV; exit 255; }
waitpid($runc, 0);
exit((($? >> 8) || 255)) if $? != 0;
if ($notify) { print STDOUT "started\\n"; close STDOUT; }
open(my $fh, "<", $pidfile) or exit 255;
my $main = int(<$fh> // 0);
close $fh;
while ((my $pid = waitpid(-1, 0)) > 0) {
  next unless $pid == $main;
  my $code = ($? & 127) ? 128 + ($? & 127) : ($? >> 8);
  if ($statusfile ne "") {
    if (open(my $out, ">", "$statusfile.tmp")) { print $out "$code\\n"; close $out; rename("$statusfile.tmp", $statusfile); }
  }
  exit $code;
}
exit 255;
`;

/**
 * The argv that runs `runcArgv` (a `runc … exec --detach … --pid-file <pidFile> …` command line, or `runc run -d …`
 * for a runtime's init) under the reaper: its exit status is the command's, or runc's when no pid file was written.
 * `statusFile` ("" for none) receives the command's status too. With `notify` the reaper prints `started` on its
 * stdout once runc exited successfully and closes it (runc and the command get /dev/null there instead), so the
 * caller learns when runc is done without waiting for the command.
 */
export function reaperArgv(runcArgv: string[], pidFile: string, statusFile = "", notify = false): string[] {
  const prctl = PRCTL_SYSCALL[process.arch];
  if (prctl === undefined) throw errors.unavailable(`exec is not supported on ${process.arch} hosts (no prctl number known for the reaper)`);
  return [PERL_PATH, "-e", SCRIPT(prctl), "--", pidFile, statusFile, notify ? "1" : "", ...runcArgv];
}

/** Reads a status file the reaper wrote: the command's exit status, or null if there is none (yet). */
export function parseStatusFile(text: string): number | null {
  const code = Number(text.trim());
  return text.trim() !== "" && Number.isInteger(code) && code >= 0 && code < 256 ? code : null;
}
