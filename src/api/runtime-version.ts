/**
 * Seed 000's `runtimeVersion`: the Python version a runtime should carry, which picks the image it runs on. Images
 * record their python3 version (`image ls`'s PYTHON); this is the one rule matching a request against them, used by
 * the daemon at create and by the CLI (to build a package image over the image it will pick). No zod here.
 */

/** `3`, `3.11` or `3.11.2` (what Python's own `sys.version` starts with). */
export const RUNTIME_VERSION_PATTERN = /^\d+(\.\d+){0,2}$/;

/** Whether an image's python version satisfies a requested one: "3.11" matches 3.11.x, "3.11.2" only itself, "3" any 3.x. */
export function versionMatches(have: string, want: string): boolean {
  return have === want || have.startsWith(`${want}.`);
}

/** What the pick needs of an image. */
export interface PythonImage {
  name: string;
  parent: string | null;
  python_version: string | null;
}

/**
 * The image for `want`: `image` itself when given (it must carry a matching Python), else the default image when it
 * matches, else the first base image (not derived) that does, else the first derived one. Throws an Error whose message
 * lists the versions the images carry (the caller maps it to its own error type).
 */
export function pickImageForPython(images: PythonImage[], want: string, image?: string, defaultImage = "default"): string {
  if (!RUNTIME_VERSION_PATTERN.test(want)) throw new Error(`runtime version ${JSON.stringify(want)} must be a Python version like 3.11 or 3.11.2`);
  const fits = (i: PythonImage) => i.python_version !== null && versionMatches(i.python_version, want);
  if (image !== undefined) {
    const named = images.find((i) => i.name === image);
    if (named && fits(named)) return image;
    if (named) throw new Error(`image ${image} carries ${named.python_version ? `Python ${named.python_version}` : "no python3"}, not ${want}; ${available(images)}`);
    throw new Error(`image ${image} not found; ${available(images)}`);
  }
  const match =
    images.find((i) => i.name === defaultImage && fits(i)) ??
    images.find((i) => i.parent === null && fits(i)) ??
    images.find(fits);
  if (match) return match.name;
  throw new Error(`no image carries Python ${want}; ${available(images)}. runta installs no other Python: import an image that has it (runta image import)`);
}

/** "available: Python 3.11.2 (default, web), 3.12.1 (py312)", or that none is known. */
function available(images: PythonImage[]): string {
  const by = new Map<string, string[]>();
  for (const i of images) if (i.python_version) by.set(i.python_version, [...(by.get(i.python_version) ?? []), i.name]);
  if (!by.size) return "no image with a python3 is known (runta image ls)";
  return `available: Python ${[...by.entries()].map(([v, names]) => `${v} (${names.join(", ")})`).join(", ")}`;
}
