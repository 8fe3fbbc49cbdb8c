/**
 * The wire rule for a command (DESIGN §3, §4), decided here once for buffered exec and the exec stream: a string
 * command with no args (none given, or an empty list) runs through `sh -c`, so pipes and `$VARS` work; a string
 * with args is the program to run; an array is the argv itself, with any args appended.
 */
export function commandArgv(command: string | readonly string[], args?: readonly string[]): string[] {
  const rest = args ?? [];
  if (typeof command === "string") return rest.length === 0 ? ["sh", "-c", command] : [command, ...rest];
  return [...command, ...rest];
}
