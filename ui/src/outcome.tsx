/** The outcome of a panel's calls: one helper runs a call, shows what came of it (the API's message when refused), reloads. */
import { useState } from "preact/hooks";

/** What a call came to: a line of text, an error or not, and a link to what it made (a restored runtime). */
export type Message = { error: boolean; text: string; link?: { href: string; name: string } } | null;

/**
 * Runs one call at a time (`busy` while it runs): `fn` answers the success text (or a whole message); a thrown error
 * becomes the message. `after` runs either way (the panel's reload).
 */
export function useAction(after: () => void): { busy: boolean; message: Message; act: (fn: () => Promise<string | NonNullable<Message>>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<Message>(null);
  const act = async (fn: () => Promise<string | NonNullable<Message>>) => {
    setBusy(true);
    setMessage(null);
    try {
      const done = await fn();
      setMessage(typeof done === "string" ? { error: false, text: done } : done);
    } catch (err) {
      setMessage({ error: true, text: (err as Error).message });
    } finally {
      setBusy(false);
      after();
    }
  };
  return { busy, message, act };
}

/** The message as an alert (an error) or a status line. */
export function Outcome({ message }: { message: Message }) {
  if (!message) return null;
  return (
    <p class={message.error ? "error" : "ok"} role={message.error ? "alert" : "status"}>
      {message.text}
      {message.link ? (
        <>
          {" "}
          <a href={message.link.href}>{message.link.name}</a>
        </>
      ) : null}
    </p>
  );
}
