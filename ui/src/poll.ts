/** Live data without a manual refresh: poll while the page is visible, at once when it becomes visible again. */
import { useEffect, useRef, useState } from "preact/hooks";

/** Polling period of the fleet and runtime views. */
export const POLL_MS = 1500;

/** Calls `load` now and every POLL_MS (never two at once); returns its last result or error and a `reload`. */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: Error | null; reload: () => void; at: number } {
  const [state, setState] = useState<{ data: T | null; error: Error | null; at: number }>({ data: null, error: null, at: 0 });
  const tick = useRef<() => void>(() => undefined);
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    let running = false;
    const run = async () => {
      if (stopped || running) return;
      running = true;
      window.clearTimeout(timer);
      try {
        const data = await load();
        if (!stopped) setState({ data, error: null, at: Date.now() });
      } catch (err) {
        if (!stopped) setState((s) => ({ ...s, error: err as Error }));
      } finally {
        running = false;
        if (!stopped && document.visibilityState === "visible") timer = window.setTimeout(run, POLL_MS);
      }
    };
    const onVisible = () => document.visibilityState === "visible" && void run();
    tick.current = () => void run();
    document.addEventListener("visibilitychange", onVisible);
    void run();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, deps); // the caller says when `load` changes (its deps), as with useEffect
  return { ...state, reload: () => tick.current() };
}
