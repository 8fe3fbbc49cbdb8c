/**
 * A terminal in the page: xterm.js over the exec websocket the CLI uses (`/v1/runtimes/{rt}/exec/stream`, DESIGN §4).
 * The browser sends the session cookie with the upgrade (the daemon checks it and that Origin is exactly its own);
 * the frames are the CLI's: `start` with the size, `stdin`, `resize`, and `stdout`/`exit`/`error` back.
 */
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ClientFrame, ServerFrame } from "../../src/api/stream.js";

type State =
  | { kind: "connecting" }
  | { kind: "open" }
  | { kind: "exited"; code: number; signal?: string | null; oom?: boolean }
  | { kind: "failed"; message: string; execId?: string };

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * xterm.js inserts <style> elements when it opens; the page's CSP only admits style elements carrying the nonce the
 * daemon put in this page, so they get it as they are created.
 */
function withStyleNonce(fn: () => void): void {
  const nonce = document.querySelector<HTMLMetaElement>('meta[name="runta-style-nonce"]')?.content ?? "";
  const create = document.createElement;
  document.createElement = function (this: Document, tag: string, options?: ElementCreationOptions) {
    const el = create.call(this, tag, options);
    if (tag.toLowerCase() === "style") (el as HTMLStyleElement).nonce = nonce;
    return el;
  } as typeof document.createElement;
  try {
    fn();
  } finally {
    document.createElement = create;
  }
}

function terminalTheme(): { background: string; foreground: string; cursor: string; selectionBackground: string } {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return { background: v("--term-bg"), foreground: v("--term-fg"), cursor: v("--term-fg"), selectionBackground: v("--term-sel") };
}

/** What a terminal runs: a new command (`exec -it`), or an existing terminal session to attach to (`runta attach`). */
export type TerminalTarget = { command: string } | { attach: string };

/**
 * One exec session in an xterm. When the connection drops before the command ends, the daemon keeps the terminal
 * session for its grace period, and the bar offers to reattach to it.
 */
export function TerminalView({ runtime, target, onClose }: { runtime: string; target: TerminalTarget; onClose: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<State>({ kind: "connecting" });
  const [current, setCurrent] = useState<TerminalTarget>(target);

  useEffect(() => {
    const term = new Terminal({
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
      fontSize: 13,
      cursorBlink: true,
      scrollback: 5000,
      theme: terminalTheme(),
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    withStyleNonce(() => term.open(host.current!));
    // The size is also shown on the element, for people (tooltip) and for the browser tests that check `stty size`.
    const showSize = () => {
      host.current!.dataset.rows = String(term.rows);
      host.current!.dataset.cols = String(term.cols);
      host.current!.title = `${term.cols}×${term.rows}`;
    };
    fit.fit();
    showSize();

    const base = `/v1/runtimes/${encodeURIComponent(runtime)}`;
    const url =
      "attach" in current
        ? new URL(`${base}/execs/${encodeURIComponent(current.attach)}/attach?rows=${term.rows}&cols=${term.cols}`, location.href)
        : new URL(`${base}/exec/stream`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    let ended = false;
    let execId: string | undefined = "attach" in current ? current.attach : undefined;
    const send = (frame: ClientFrame) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(frame));
    const end = (next: State) => {
      if (ended) return;
      ended = true;
      setState(next);
      term.options.cursorBlink = false;
    };

    ws.onopen = () => {
      setState({ kind: "open" });
      // The same start frame as `runta exec -it`: a lone string runs through `sh -c`. An attach needs none.
      if ("command" in current) send({ type: "start", command: current.command, tty: true, rows: term.rows, cols: term.cols, env: { TERM: "xterm-256color" } });
      term.focus();
    };
    ws.onmessage = (ev) => {
      const frame = JSON.parse(String(ev.data)) as ServerFrame;
      if (frame.type === "started") execId = frame.exec_id;
      else if (frame.type === "stdout" || frame.type === "stderr") term.write(fromBase64(frame.data_base64));
      else if (frame.type === "exit") end({ kind: "exited", code: frame.code, signal: frame.signal, oom: frame.oom_killed });
      else if (frame.type === "error") end({ kind: "failed", message: frame.message });
    };
    // A refused upgrade (401/403/409…) only shows as a close without a reason in browsers.
    ws.onclose = (ev) =>
      end({ kind: "failed", execId, message: `connection closed before the command ended (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ""})` });
    const input = term.onData((d) => send({ type: "stdin", data_base64: toBase64(encoder.encode(d)) }));
    const resized = term.onResize(({ rows, cols }) => {
      showSize();
      send({ type: "resize", rows, cols });
    });
    // Copy with Ctrl+Shift+C (Ctrl+C goes to the program, as in a terminal emulator); paste is the browser's own.
    term.attachCustomKeyEventHandler((e) => {
      if (e.type === "keydown" && e.ctrlKey && e.shiftKey && e.code === "KeyC") {
        void navigator.clipboard?.writeText(term.getSelection());
        return false;
      }
      return true;
    });
    // The theme switch restyles the page through CSS variables; the terminal's colours are options, so follow it.
    const themeWatch = new MutationObserver(() => (term.options.theme = terminalTheme()));
    themeWatch.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    const observer = new ResizeObserver(() => {
      try {
        fit.fit();
      } catch {
        // Hidden (zero-size) container: keep the last size.
      }
    });
    observer.observe(host.current!);
    return () => {
      observer.disconnect();
      themeWatch.disconnect();
      input.dispose();
      resized.dispose();
      ws.onclose = null;
      ws.close(1000, "terminal closed");
      term.dispose();
    };
  }, [runtime, current]);

  return (
    <div class="terminal">
      <div class="terminal-bar">
        <span class="mono">{"command" in current ? current.command : `attach ${current.attach.slice(0, 12)}`}</span>
        <TermStatus state={state} />
        {state.kind === "failed" && state.execId ? (
          <button type="button" onClick={() => setCurrent({ attach: state.execId! })} title="The daemon keeps the session for a grace period">
            Reattach
          </button>
        ) : null}
        <button type="button" onClick={onClose} title="Close the terminal (the command is hung up)">
          Close
        </button>
      </div>
      <div class="xterm-host" ref={host} />
    </div>
  );
}

function TermStatus({ state }: { state: State }) {
  switch (state.kind) {
    case "connecting":
      return <span class="term-status">connecting…</span>;
    case "open":
      return <span class="term-status live">connected</span>;
    case "exited":
      return (
        <span class={`term-status ${state.code === 0 ? "ok" : "bad"}`} data-exit-code={state.code}>
          exited with code {state.code}
          {state.signal ? ` (${state.signal})` : ""}
          {state.oom ? " — killed: out of memory" : ""}
        </span>
      );
    case "failed":
      return <span class="term-status bad">{state.message}</span>;
  }
}
