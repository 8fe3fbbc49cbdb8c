/**
 * The seccomp profile of every runtime: allow by default, deny the calls that widen a container's reach
 * (DESIGN §5). A deny-list is weaker than Docker's allow-list, but it keeps every ordinary program working
 * (bash, python, apt, compilers) while closing the kernel surfaces that container escapes usually go through.
 */

/** errno values returned by denied calls. */
const EPERM = 1;
const ENOSYS = 38;

/** Namespace flags of clone(2); a clone that sets any of them would create a namespace. */
const CLONE_NAMESPACE_FLAGS: Record<string, number> = {
  CLONE_NEWTIME: 0x00000080,
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
};

/** Calls denied outright with EPERM. */
export const DENIED_SYSCALLS = [
  // namespaces
  "unshare",
  "setns",
  // mounts, including the new mount API
  "mount",
  "umount",
  "umount2",
  "pivot_root",
  "open_tree",
  "move_mount",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "mount_setattr",
  // kernel keyring
  "keyctl",
  "add_key",
  "request_key",
  // kernel programmability and observation
  "bpf",
  "perf_event_open",
  "userfaultfd",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  // modules and kexec
  "init_module",
  "finit_module",
  "delete_module",
  "kexec_load",
  "kexec_file_load",
] as const;

interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: "SCMP_CMP_MASKED_EQ";
}

interface SeccompRule {
  names: string[];
  action: "SCMP_ACT_ERRNO";
  errnoRet: number;
  args?: SeccompArg[];
}

/** The OCI `linux.seccomp` object. */
export interface SeccompProfile {
  defaultAction: "SCMP_ACT_ALLOW";
  architectures: string[];
  syscalls: SeccompRule[];
}

/** Builds the profile (x86-64 host, with its 32-bit ABIs covered too). */
export function seccompProfile(): SeccompProfile {
  const rules: SeccompRule[] = [{ names: [...DENIED_SYSCALLS], action: "SCMP_ACT_ERRNO", errnoRet: EPERM }];
  // Rules' args are ANDed, so "any namespace flag set" takes one rule per flag: (flags & f) == f.
  for (const flag of Object.values(CLONE_NAMESPACE_FLAGS)) {
    rules.push({
      names: ["clone"],
      action: "SCMP_ACT_ERRNO",
      errnoRet: EPERM,
      args: [{ index: 0, value: flag, valueTwo: flag, op: "SCMP_CMP_MASKED_EQ" }],
    });
  }
  // clone3 passes its flags in a struct seccomp cannot read: ENOSYS makes glibc fall back to clone, which is filtered.
  rules.push({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS });
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    syscalls: rules,
  };
}
