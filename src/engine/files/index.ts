/** Files of a runtime, resolved inside its root: see scope.ts for how and why. */
export { Scope } from "./scope.js";
export { openFile, packPath, statPath, TAR_MAX_FILE_BYTES } from "./read.js";
export { diskFullInside, unpackInto, writeFile } from "./write.js";
