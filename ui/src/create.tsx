/**
 * Create a runtime. Validation is the API's own: the form sends what was typed and shows the daemon's messages next
 * to the fields they name, so the page can never disagree with the CLI or the SDK.
 */
import { useEffect, useState } from "preact/hooks";
import { LIMITS } from "../../src/api/limits.js";
import { api, ApiError, type Image, type Runtime } from "./api.js";
import { parsePairs, parseVolumeLines } from "./format.js";
import { go } from "./route.js";

interface FieldErrors {
  [field: string]: string;
}

/** The form input an API field path belongs to: `env.FOO` → env, `volumes.0.path` → volumes, `resources.requests.vcpus` → vcpus. */
const formField = (path: string) => (/^(env|labels|volumes)\b/.test(path) ? path.split(".")[0]! : path.split(".").pop()!);

export function CreateForm() {
  const [images, setImages] = useState<Image[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<FieldErrors>({});
  useEffect(() => {
    api<Image[]>("GET", "/v1/images").then(setImages, () => setImages([]));
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const text = (k: string) => String(form.get(k) ?? "").trim();
    setError(null);
    setFields({});
    let body: Record<string, unknown>;
    try {
      const requests: Record<string, number> = {};
      if (text("vcpus")) requests.vcpus = Number(text("vcpus"));
      if (text("memory_mib")) requests.memory_mib = Number(text("memory_mib"));
      const env = parsePairs(text("env"), "env");
      const labels = parsePairs(text("labels"), "labels");
      const volumes = parseVolumeLines(text("volumes"));
      body = {
        ...(text("name") ? { name: text("name") } : {}),
        ...(text("image") ? { image: text("image") } : {}),
        ...(Object.keys(requests).length ? { resources: { requests } } : {}),
        ...(Object.keys(env).length ? { env } : {}),
        ...(Object.keys(labels).length ? { labels } : {}),
        ...(volumes.length ? { volumes } : {}),
        // As typed: the API says what an idle timeout must be.
        ...(text("idle_timeout_secs") ? { idle_timeout_secs: Number(text("idle_timeout_secs")) } : {}),
      };
    } catch (err) {
      setError((err as Error).message);
      return;
    }
    setBusy(true);
    try {
      const rt = await api<Runtime>("POST", "/v1/runtimes?wait=false", body);
      go(`/rt/${rt.id}`);
    } catch (err) {
      const apiErr = err as ApiError;
      setError(apiErr.message);
      const byField: FieldErrors = {};
      for (const issue of apiErr.details?.issues ?? []) byField[formField(issue.field)] ??= issue.message;
      if (apiErr.details?.field) byField[formField(apiErr.details.field)] ??= apiErr.message;
      setFields(byField);
    } finally {
      setBusy(false);
    }
  };

  const hint = (f: string) => (fields[f] ? <span class="field-error">{fields[f]}</span> : null);
  return (
    <section class="panel create">
      <h2>New runtime</h2>
      <form onSubmit={submit} novalidate>
        <label>
          Name <input name="name" autofocus placeholder="worker (optional)" autocomplete="off" />
          {hint("name")}
        </label>
        <label>
          Image
          <select name="image">
            {images.length === 0 ? <option value="">default</option> : null}
            {images.map((i) => (
              <option value={i.name} selected={i.name === "default"}>
                {i.name}
              </option>
            ))}
          </select>
          {hint("image")}
        </label>
        <div class="row">
          <label>
            vCPUs <input name="vcpus" inputMode="decimal" placeholder={String(LIMITS.defaultVcpus)} />
            {hint("vcpus")}
          </label>
          <label>
            Memory (MiB) <input name="memory_mib" inputMode="numeric" placeholder={String(LIMITS.defaultMemoryMib)} />
            {hint("memory_mib")}
          </label>
        </div>
        <label>
          Environment <textarea name="env" rows={3} placeholder="KEY=value, one per line" />
          {hint("env")}
        </label>
        <label>
          Labels <textarea name="labels" rows={2} placeholder="team=ml, one per line" />
          {hint("labels")}
        </label>
        <label>
          Volumes <textarea name="volumes" rows={2} class="mono" placeholder="data:/work or data:/work:ro, one per line (see Volumes)" />
          {hint("volumes")}
        </label>
        <label>
          Idle timeout (s) <input name="idle_timeout_secs" inputMode="numeric" placeholder="never" />
          {hint("idle_timeout_secs")}
        </label>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            {busy ? "Creating…" : "Create"}
          </button>
          <a class="button" href="#/">
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
