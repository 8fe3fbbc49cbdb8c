/** The dashboard's shell: session check, header (theme, logout), and the views: runtimes, one runtime, new, volumes. */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { loadSession, logout, whenSessionEnds } from "./api.js";
import { CreateForm } from "./create.js";
import { Fleet } from "./fleet.js";
import { go, useRoute } from "./route.js";
import { RuntimeView } from "./runtime.js";
import { VolumesView } from "./volumes.js";

type Theme = "dark" | "light";

function initialTheme(): Theme {
  const saved = localStorage.getItem("runta.theme");
  if (saved === "dark" || saved === "light") return saved;
  return matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
}

function App() {
  const [session, setSession] = useState<"checking" | "in" | "out">("checking");
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const path = useRoute();

  useEffect(() => {
    whenSessionEnds(() => setSession("out"));
    loadSession().then(
      (ok) => setSession(ok ? "in" : "out"),
      () => setSession("out"),
    );
  }, []);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("runta.theme", theme);
  }, [theme]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !(e.target instanceof HTMLInputElement) && !document.querySelector("dialog[open]") && path !== "/") go("/");
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [path]);

  if (session === "checking") return <p class="boot">Loading…</p>;
  if (session === "out") {
    return (
      <main class="notice">
        <h1>Not logged in</h1>
        <p>
          Run <code>runta dashboard</code> on the daemon's host and open the link it prints. Links work once and expire after two minutes;
          sessions end after 12 hours, when you log out, or when the daemon's token changes.
        </p>
      </main>
    );
  }
  const rt = /^\/rt\/([^/]+)$/.exec(path);
  return (
    <>
      <header class="top">
        <a href="#/" class="brand">
          runta
        </a>
        <nav>
          <a href="#/" class={path === "/" ? "current" : ""}>
            Runtimes
          </a>
          <a href="#/new" class={path === "/new" ? "current" : ""}>
            New
          </a>
          <a href="#/volumes" class={path === "/volumes" ? "current" : ""}>
            Volumes
          </a>
        </nav>
        <span class="spacer" />
        <button type="button" class="ghost" onClick={() => setTheme(theme === "dark" ? "light" : "dark")} title="Switch dark/light">
          {theme === "dark" ? "Light" : "Dark"}
        </button>
        <button
          type="button"
          class="ghost"
          onClick={async () => {
            await logout();
            setSession("out");
          }}
        >
          Log out
        </button>
      </header>
      <main>{rt ? <RuntimeView id={decodeURIComponent(rt[1]!)} /> : path === "/new" ? <CreateForm /> : path === "/volumes" ? <VolumesView /> : <Fleet />}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
