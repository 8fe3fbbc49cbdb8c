/**
 * Runtime names: the check that says exactly what is wrong with one, the generated `adjective_scientist` names, and
 * the printable rendering of a user-given string every engine error message uses.
 */
import { randomBytes } from "node:crypto";
import { LIMITS, RuntaError } from "../api/index.js";

const ADJECTIVES = ["brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry", "nifty", "proud", "quirky", "sharp", "swift", "tender", "vivid", "witty", "zen", "bold"];
const NOUNS = ["turing", "hopper", "lovelace", "curie", "noether", "knuth", "ritchie", "thompson", "torvalds", "liskov", "dijkstra", "hamilton", "babbage", "shannon", "wozniak", "kay", "pike", "lamport", "perlman", "goldberg"];

/** A printable rendering of a user-given string for error messages (control characters escaped). */
export function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? value.slice(0, 80) + "…" : value);
}

/** Checks a runtime's (or a volume's: `what`) name and says exactly what is wrong with it. */
export function validateName(name: string, what = "runtime"): void {
  if (LIMITS.namePattern.test(name)) return;
  let why: string;
  if (name.length === 0) why = "it is empty";
  else if (name.length > LIMITS.nameMaxLength) why = `it is ${name.length} characters long (at most ${LIMITS.nameMaxLength})`;
  else if (/[\x00-\x1f\x7f]/.test(name)) why = "it contains control characters";
  else if (name.includes("/") || name.includes("..")) why = "it contains '/' or '..' (names are not paths)";
  else if (!/^[a-zA-Z0-9]/.test(name)) why = "it must start with a letter or digit";
  else why = "it contains characters other than letters, digits, '_', '.', '-'";
  throw new RuntaError("invalid_argument", `invalid ${what} name ${shown(name)}: ${why}`, { details: { field: "name", pattern: LIMITS.namePattern.source } });
}

/** A free `adjective_scientist` name (`taken` says which are used), or a random `rt-…` one when 20 tries collide. */
export function generateName(taken: (name: string) => boolean): string {
  for (let i = 0; i < 20; i++) {
    const name = `${ADJECTIVES[Math.floor(Math.random() * ADJECTIVES.length)]}_${NOUNS[Math.floor(Math.random() * NOUNS.length)]}`;
    if (!taken(name)) return name;
  }
  return `rt-${randomBytes(3).toString("hex")}`;
}
