import { type DragEvent, useState } from "react";
import { parse as parseYaml } from "yaml";
import { explainError } from "../../../sdk/chain/reverts.ts";
import { ManifestError } from "../../../sdk/manifest/errors.ts";
import { Card, ErrorMessage, Status } from "../components/ui.tsx";
import { useApp } from "../context.ts";
import {
  type Funding,
  type JobForm,
  manifestFromForm,
  postManifest,
  resolveInBrowser,
} from "../lib/post.ts";

const FUNDING: readonly [Funding, string][] = [
  ["permit", "a permit signature (one transaction)"],
  ["approve", "an approval, then the post"],
];

const DEFAULT_FORM: JobForm = {
  name: "my-job",
  imageRef: "",
  imageId: "",
  command: '/bin/sh -c "echo $TASK_INDEX > /output/result.txt"',
  taskCount: 2,
  k: 3,
  quorum: 2,
  maxPrice: "1",
  stake: "2",
  biddingSeconds: 60,
  executionSeconds: 600,
  revealSeconds: 300,
  cpuMillicores: 500,
  memoryMiB: 128,
  timeoutSeconds: 60,
};

type NumberField = {
  [K in keyof JobForm]: JobForm[K] extends number ? K : never;
}[keyof JobForm];
type TextField = Exclude<keyof JobForm, NumberField>;

function describe(error: unknown): string {
  if (error instanceof ManifestError) {
    return `The manifest has problems: ${error.problems.map((p) => `${p.path || "(root)"} ${p.message}`).join("; ")}`;
  }
  return explainError(error);
}

export function PostPage() {
  const { config, session } = useApp();
  const [form, setForm] = useState<JobForm>(DEFAULT_FORM);
  const [dropped, setDropped] = useState<{ name: string; value: Record<string, unknown> } | null>(
    null,
  );
  const [files, setFiles] = useState<File[]>([]);
  const [funding, setFunding] = useState<Funding>("permit");
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const text = (field: TextField, label: string, hint?: string) => (
    <div className="field">
      <label htmlFor={`f-${field}`}>{label}</label>
      <input
        id={`f-${field}`}
        name={field}
        value={form[field]}
        onChange={(e) => setForm({ ...form, [field]: e.target.value })}
        aria-describedby={hint ? `h-${field}` : undefined}
        required
      />
      {hint ? (
        <small id={`h-${field}`} className="muted">
          {hint}
        </small>
      ) : null}
    </div>
  );
  const number = (field: NumberField, label: string) => (
    <div className="field">
      <label htmlFor={`f-${field}`}>{label}</label>
      <input
        id={`f-${field}`}
        name={field}
        type="number"
        min={0}
        value={form[field]}
        onChange={(e) => setForm({ ...form, [field]: Number(e.target.value) })}
        required
      />
    </div>
  );

  async function readManifestFile(file: File) {
    setError(undefined);
    try {
      const body = await file.text();
      const value = /\.ya?ml$/i.test(file.name) ? parseYaml(body) : JSON.parse(body);
      if (typeof value !== "object" || value === null) throw new Error("not a manifest object");
      setDropped({ name: file.name, value: value as Record<string, unknown> });
    } catch (e) {
      setError(`${file.name} is not a JSON or YAML manifest: ${explainError(e)}`);
    }
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) void readManifestFile(file);
  }

  async function submit() {
    if (session === null) {
      setError("Connect an account first (Account page).");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const source =
        dropped?.value ??
        manifestFromForm(
          form,
          files.map((file) => ({ file, path: file.name.replace(/[^A-Za-z0-9._-]/g, "_") })),
        );
      const manifest = await resolveInBrowser(source, files, config.gatewayUrl, setStatus);
      const posted = await postManifest(session, manifest, config.gatewayUrl, funding, setStatus);
      setStatus(`Job ${posted.jobId} posted.`);
      window.location.hash = `#/jobs/${posted.jobId}`;
    } catch (e) {
      setStatus(undefined);
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h1>Post a job</h1>
      {session === null ? (
        <p className="error" role="alert">
          Connect an account on the <a href="#/account">Account</a> page to post a job.
        </p>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <Card title="Manifest file (optional)">
          {/* biome-ignore lint/a11y/noStaticElementInteractions: dropping is a pointer shortcut; the file input inside is the keyboard path. */}
          <div className="dropzone" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
            <label htmlFor="manifest-file">
              Drop a manifest (JSON or YAML) here, or choose one
            </label>
            <input
              id="manifest-file"
              type="file"
              accept=".json,.yaml,.yml,application/json"
              onChange={(e) => {
                const file = e.target.files?.[0];
                if (file) void readManifestFile(file);
              }}
            />
            {dropped ? (
              <p>
                Using <strong>{dropped.name}</strong> instead of the form.{" "}
                <button type="button" className="link" onClick={() => setDropped(null)}>
                  Use the form
                </button>
              </p>
            ) : null}
          </div>
        </Card>
        {dropped === null ? (
          <Card title="Job">
            <div className="grid">
              {text("name", "Name")}
              {text(
                "imageRef",
                "Image reference",
                "name@sha256:… or ipfs://<cid> of a docker save archive",
              )}
              {text("imageId", "Image ID", "sha256:… (the ID the worker checks)")}
              {text("command", "Command", 'run without a shell; "quotes" group words')}
              {number("taskCount", "Tasks")}
              {number("k", "Replicas per task (k)")}
              {number("quorum", "Quorum (q)")}
              {text("maxPrice", "Max price per task-replica (CONUN)")}
              {text("stake", "Stake per task-replica (CONUN)")}
              {number("biddingSeconds", "Bidding window (s)")}
              {number("executionSeconds", "Execution window (s)")}
              {number("revealSeconds", "Reveal window (s)")}
              {number("cpuMillicores", "CPU (millicores)")}
              {number("memoryMiB", "Memory (MiB)")}
              {number("timeoutSeconds", "Time limit per task (s)")}
            </div>
          </Card>
        ) : null}
        <Card title="Inputs and funding">
          <div className="field">
            <label htmlFor="input-files">Input files (uploaded through the content gateway)</label>
            <input
              id="input-files"
              type="file"
              multiple
              onChange={(e) => setFiles([...(e.target.files ?? [])])}
            />
            {files.length > 0 ? (
              <small className="muted">
                Mounted at /input/&lt;file name&gt;: {files.map((f) => f.name).join(", ")}
              </small>
            ) : null}
          </div>
          <fieldset>
            <legend>Fund the escrow with</legend>
            {FUNDING.map(([value, label]) => (
              <label key={value}>
                <input
                  type="radio"
                  name="funding"
                  checked={funding === value}
                  onChange={() => setFunding(value)}
                />{" "}
                {label}
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={busy || session === null}>
            {busy ? "Posting…" : "Post job"}
          </button>
          <Status message={status} />
          <ErrorMessage message={error} />
        </Card>
      </form>
    </>
  );
}
