/**
 * Shell completion scripts generated from the commander tree, so they cannot drift from the commands
 * (a unit test checks the committed files in completions/ equal this output). Runtime names are asked
 * from the CLI itself with the hidden `runta __complete runtimes`, which fails quietly without a daemon.
 */
import type { Command, Option } from "commander";

/** Shells we generate for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

interface Node {
  name: string;
  /** Other names of the command (`ls` for `ps`). */
  aliases: string[];
  description: string;
  options: { long?: string; short?: string; description: string; takesValue: boolean }[];
  /** Which arguments are runtime names: none, only the first (exec, resize), or all of them (pause a b c). */
  runtimes: "none" | "one" | "many";
  /** Fixed choices of the first argument (e.g. the shells of `completion`). */
  words: string[];
  subcommands: Node[];
}

/** Hidden helper commands (`__complete`) are not offered. */
function visible(cmd: Command): boolean {
  return !cmd.name().startsWith("__");
}

function describeOptions(options: readonly Option[]) {
  return options
    .filter((o) => !o.hidden)
    .map((o) => ({ long: o.long, short: o.short, description: firstLine(o.description), takesValue: o.required || o.optional }));
}

function firstLine(s: string): string {
  return s.split("\n")[0]!;
}

/** The tree as completion sees it: visible commands, their flags, and which ones take runtime names. */
export function completionTree(program: Command): Node {
  const help = { long: "--help", short: "-h", description: "show help", takesValue: false };
  const walk = (cmd: Command, depth: number): Node => {
    const subs = cmd.commands.filter(visible);
    // A third level (`secret rule set|ls|rm`) is folded into its group: its verbs are offered as words and the
    // flags of all of them as the group's (the scripts follow two levels of commands).
    if (depth === 2 && subs.length) {
      const options = new Map(subs.flatMap((c) => describeOptions(c.options)).map((o) => [o.long ?? o.short, o]));
      return { name: cmd.name(), aliases: cmd.aliases(), description: firstLine(cmd.description()), options: [...options.values(), help], runtimes: "none", words: subs.map((c) => c.name()), subcommands: [] };
    }
    return {
      name: cmd.name(),
      aliases: cmd.aliases(),
      description: firstLine(cmd.description()),
      options: [...describeOptions(cmd.options), help],
      runtimes: runtimeArgs(cmd),
      words: [...(cmd.registeredArguments[0]?.argChoices ?? [])],
      subcommands: subs.map((c) => walk(c, depth + 1)),
    };
  };
  return walk(program, 0);
}

function runtimeArgs(cmd: Command): Node["runtimes"] {
  const first = cmd.registeredArguments[0];
  if (!first?.name().startsWith("runtime")) return "none";
  return first.variadic ? "many" : "one";
}

/** The shells' `rt` value: 0 no runtime names, 1 for every argument, 2 for the first argument only. */
const rtFlag = (n: Node) => (n.runtimes === "many" ? 1 : n.runtimes === "one" ? 2 : 0);

/** Every long flag and short flag of a node, space-separated. */
function flagWords(n: Node): string {
  return n.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)).join(" ");
}

/** A node's flags that take a value, as a bash pattern (`-f|--filter`), or "" when it has none. */
function valueFlags(n: Node): string {
  return n.options.flatMap((o) => (o.takesValue ? [o.long, o.short].filter((x): x is string => !!x) : [])).join("|");
}

/** A command's names as a bash pattern (`ps|ls`). */
const names = (n: Node) => [n.name, ...n.aliases].join("|");

/**
 * The bash and zsh scripts' `_runta_value CMD SUB FLAG`: whether FLAG takes a value there. Decided per command, since one letter can be a
 * value flag on one command and a switch on another (`-t` on shutdown and on exec, `-f` on ps and on rm).
 */
function valueFunction(root: Node): string {
  const test = (flags: string) => `case "$3" in ${flags}) return 0 ;; esac`;
  const commands = root.subcommands.filter((c) => valueFlags(c)).map((c) => `    ${names(c)}) ${test(valueFlags(c))} ;;`);
  const subs = root.subcommands.flatMap((c) =>
    c.subcommands.filter((s) => valueFlags(s)).map((s) => `    ${[c.name, ...c.aliases].map((n) => `"${n} ${s.name}"`).join("|")}) ${test(valueFlags(s))} ;;`),
  );
  return [
    "_runta_value() {",
    ...(valueFlags(root) ? [`  ${test(valueFlags(root))}`] : []),
    '  case "$1" in',
    ...commands,
    "  esac",
    '  case "$1 $2" in',
    ...subs,
    "  esac",
    "  return 1",
    "}",
  ].join("\n");
}

function bash(root: Node): string {
  const cases: string[] = [];
  for (const c of root.subcommands) {
    if (c.subcommands.length) {
      const subs = c.subcommands.map((s) => s.name).join(" ");
      const inner = c.subcommands
        .map((s) => `        ${s.name}) opts="${flagWords(s)}"; rt=${rtFlag(s)}; words="${s.words.join(" ")}" ;;`)
        .join("\n");
      cases.push(
        `    ${names(c)})\n      if [[ -z $sub ]]; then\n        COMPREPLY=($(compgen -W "${subs} ${flagWords(c)}" -- "$cur")); return\n      fi\n      case "$sub" in\n${inner}\n      esac ;;`,
      );
    } else {
      cases.push(`    ${names(c)}) opts="${flagWords(c)}"; rt=${rtFlag(c)}; words="${c.words.join(" ")}" ;;`);
    }
  }
  const commands = root.subcommands.flatMap((c) => [c.name, ...c.aliases]).join(" ");
  return `# bash completion for runta — generated by \`runta completion bash\`; do not edit.
# Install: runta completion bash > /etc/bash_completion.d/runta
${valueFunction(root)}
_runta() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="" sub="" opts="" words="" rt=0 i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --) return ;;
      -*) if _runta_value "$cmd" "$sub" "$w"; then ((i++)); fi ;;
      *) if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi ;;
    esac
  done
  if [[ $prev == -* ]] && _runta_value "$cmd" "$sub" "$prev"; then return; fi
  case "$cmd" in
    "") COMPREPLY=($(compgen -W "${commands} ${flagWords(root)}" -- "$cur")); return ;;
${cases.join("\n")}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif ((rt == 1)) || { ((rt == 2)) && [[ -z $sub ]]; }; then
    COMPREPLY=($(compgen -W "$(runta __complete runtimes 2>/dev/null)" -- "$cur"))
  elif [[ -n $words ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -o default -F _runta runta
`;
}

const zq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function zsh(root: Node): string {
  const described = (nodes: Node[]) => nodes.map((n) => zq(`${n.name}:${n.description}`)).join(" ");
  const cases: string[] = [];
  for (const c of root.subcommands) {
    if (c.subcommands.length) {
      const inner = c.subcommands.map((s) => `        ${s.name}) opts=(${flagWords(s)}); rt=${rtFlag(s)}; choices=(${s.words.join(" ")}) ;;`).join("\n");
      cases.push(
        `    ${names(c)})\n      if [[ -z $sub ]]; then\n        cmds=(${described(c.subcommands)})\n        _describe -t commands 'runta ${c.name} command' cmds; return\n      fi\n      case $sub in\n${inner}\n      esac ;;`,
      );
    } else {
      cases.push(`    ${names(c)}) opts=(${flagWords(c)}); rt=${rtFlag(c)}; choices=(${c.words.join(" ")}) ;;`);
    }
  }
  return `#compdef runta
# zsh completion for runta — generated by \`runta completion zsh\`; do not edit.
# Install: runta completion zsh > "\${fpath[1]}/_runta"   (or: source <(runta completion zsh))
${valueFunction(root)}
_runta() {
  local cmd="" sub="" cur="\${words[CURRENT]}" w i rt=0
  local -a opts cmds choices
  for ((i = 2; i < CURRENT; i++)); do
    w="\${words[i]}"
    case $w in
      --) return ;;
      -*) if _runta_value "$cmd" "$sub" "$w"; then ((i++)); fi ;;
      *) if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi ;;
    esac
  done
  case $cmd in
    "")
      if [[ $cur == -* ]]; then compadd -- ${flagWords(root)}; return; fi
      cmds=(${described(root.subcommands)})
      _describe -t commands 'runta command' cmds; return ;;
${cases.join("\n")}
  esac
  if [[ $cur == -* ]]; then
    compadd -- $opts
  elif ((rt == 1)) || { ((rt == 2)) && [[ -z $sub ]]; }; then
    compadd -- \${(f)"$(runta __complete runtimes 2>/dev/null)"}
  elif (( \${#choices} )); then
    compadd -- $choices
  else
    _files
  fi
}
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  _runta "$@"
else
  compdef _runta runta
fi
`;
}

const fq = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

function fish(root: Node): string {
  const lines = [
    "# fish completion for runta — generated by `runta completion fish`; do not edit.",
    "# Install: runta completion fish > ~/.config/fish/completions/runta.fish",
    "complete -c runta -f",
  ];
  const optLines = (n: Node, cond: string) =>
    n.options.map((o) => {
      const parts = [`complete -c runta -n ${fq(cond)}`];
      if (o.long) parts.push(`-l ${o.long.replace(/^--/, "")}`);
      if (o.short) parts.push(`-s ${o.short.replace(/^-/, "")}`);
      if (o.takesValue) parts.push("-r");
      parts.push(`-d ${fq(o.description)}`);
      return parts.join(" ");
    });
  const names = root.subcommands.map((c) => c.name).join(" ");
  lines.push(...optLines(root, "true"));
  for (const c of root.subcommands) {
    lines.push(`complete -c runta -n ${fq(`not __fish_seen_subcommand_from ${names}`)} -a ${c.name} -d ${fq(c.description)}`);
    const seen = `__fish_seen_subcommand_from ${c.name}`;
    if (c.subcommands.length) {
      const subs = c.subcommands.map((s) => s.name).join(" ");
      for (const s of c.subcommands) {
        lines.push(`complete -c runta -n ${fq(`${seen}; and not __fish_seen_subcommand_from ${subs}`)} -a ${s.name} -d ${fq(s.description)}`);
        const cond = `${seen}; and __fish_seen_subcommand_from ${s.name}`;
        lines.push(...optLines(s, cond));
        if (s.runtimes !== "none") lines.push(`complete -c runta -n ${fq(cond)} -a '(runta __complete runtimes 2>/dev/null)'`);
        if (s.words.length) lines.push(`complete -c runta -n ${fq(cond)} -a ${fq(s.words.join(" "))}`);
        if (s.name === "import") lines.push(`complete -c runta -n ${fq(cond)} -F`);
      }
    } else {
      lines.push(...optLines(c, seen));
      if (c.runtimes !== "none") lines.push(`complete -c runta -n ${fq(seen)} -a '(runta __complete runtimes 2>/dev/null)'`);
      if (c.words.length) lines.push(`complete -c runta -n ${fq(seen)} -a ${fq(c.words.join(" "))}`);
      if (c.options.some((o) => o.long === "--file")) lines.push(`complete -c runta -n ${fq(seen)} -F`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The completion script for one shell. */
export function completionScript(program: Command, shell: Shell): string {
  const tree = completionTree(program);
  return shell === "bash" ? bash(tree) : shell === "zsh" ? zsh(tree) : fish(tree);
}
