/** Hash routes (`#/`, `#/new`, `#/volumes`, `#/rt/<id>`): the page never reloads and nothing sensitive ever sits in the URL. */
import { useEffect, useState } from "preact/hooks";

/** Navigates to a route. */
export function go(path: string): void {
  location.hash = `#${path}`;
}

/** The current route path, updated on navigation. */
export function useRoute(): string {
  const [path, setPath] = useState(current);
  useEffect(() => {
    const on = () => setPath(current());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return path;
}

function current(): string {
  return location.hash.replace(/^#/, "") || "/";
}
