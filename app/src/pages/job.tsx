import { useState } from "react";
import { explainError } from "../../../sdk/chain/reverts.ts";
import { assertNever } from "../../../sdk/protocol/index.ts";
import { getJob, type JobDetails } from "../../../sdk/queries/jobs.ts";
import { listProviders } from "../../../sdk/queries/providers.ts";
import { jobReasons } from "../../../sdk/queries/reasons.ts";
import { type JobCheck, verifyJobResults } from "../../../sdk/results/job.ts";
import { describeOutcome } from "../../../sdk/results/outcome.ts";
import { escapeUntrusted } from "../../../sdk/text.ts";
import type { JobMarket } from "../../../types/ethers-contracts/JobMarket.ts";
import {
  Address,
  Badge,
  Card,
  ErrorMessage,
  Facts,
  Loading,
  Status,
  Table,
} from "../components/ui.tsx";
import { useApp } from "../context.ts";
import {
  type ActionPlan,
  availableActions,
  type JobAction,
  readActionFacts,
} from "../lib/actions.ts";
import { conun, shortHash, time } from "../lib/format.ts";
import { gatewaySource } from "../lib/gateway.ts";
import { usePoll } from "../lib/hooks.ts";

const STEPS = ["Open", "Awarded", "Committed", "Revealed", "Finalized"] as const;
/** How far the job got: a step of the bar, or the status it ended in before the award. */
type JobStep = (typeof STEPS)[number] | "Cancelled" | "Unfilled";
/** A step's place in the bar; -1 for Cancelled and Unfilled, which light none. */
const stepIndex = (step: JobStep) => (STEPS as readonly JobStep[]).indexOf(step);

function phase(job: JobDetails): JobStep {
  switch (job.status) {
    case "Open":
    case "Cancelled":
    case "Unfilled":
    case "Finalized":
      return job.status;
    case "Awarded": {
      const committed = job.groups.every((g) => g.commitCount === job.replication);
      const revealed = job.groups.every((g) => g.revealCount === job.replication);
      return revealed ? "Revealed" : committed ? "Committed" : "Awarded";
    }
    default:
      return assertNever(job.status, "job status");
  }
}

function tone(outcome: string): "good" | "bad" | "neutral" | "warn" {
  if (
    outcome === "Agreed" ||
    outcome === "Paid" ||
    outcome === "verified" ||
    outcome === "Finalized"
  )
    return "good";
  if (
    outcome === "Slashed" ||
    outcome === "NoQuorum" ||
    outcome.includes("mismatch") ||
    outcome.startsWith("not-")
  )
    return "bad";
  if (outcome === "Unpaid" || outcome === "Cancelled" || outcome === "Unfilled") return "warn";
  return "neutral";
}

export function JobPage({ id }: { id: string }) {
  const { config, reader, read, subgraph, session } = useApp();
  const [status, setStatus] = useState<string>();
  const [error, setError] = useState<string>();
  const [check, setCheck] = useState<JobCheck>();
  const [busy, setBusy] = useState<string>();

  const data = usePoll(
    async () => {
      const jobId = BigInt(id);
      // The actions come from the chain (its time and state), the rest of the page from the
      // subgraph, which may lag a block behind.
      const [job, facts] = await Promise.all([
        getJob(subgraph, jobId),
        readActionFacts(read.market, reader, jobId, session?.address),
      ]);
      return { job, now: facts.chainTime, plan: availableActions(facts) };
    },
    1000,
    [id, session?.address],
  );

  async function act(
    what: string,
    run: (market: JobMarket) => Promise<{ wait(n: number, t: number): Promise<unknown> }>,
  ) {
    const market = session?.contracts.market;
    if (market === undefined) return;
    setError(undefined);
    setBusy(what);
    setStatus(`${what}: waiting for the wallet…`);
    try {
      const tx = await run(market);
      setStatus(`${what}: waiting for the transaction…`);
      await tx.wait(1, 120_000);
      setStatus(`${what}: done.`);
      data.refresh();
    } catch (e) {
      setStatus(undefined);
      setError(explainError(e));
    } finally {
      setBusy(undefined);
    }
  }

  async function verify(job: JobDetails) {
    setError(undefined);
    setStatus("Downloading and verifying results…");
    try {
      const result = await verifyJobResults(gatewaySource(config.gatewayUrl), job);
      setCheck(result);
      setStatus(
        result.ok
          ? "Every task verified against the on-chain root."
          : "Some results did not verify.",
      );
    } catch (e) {
      setStatus(undefined);
      setError(`Cannot verify the results: ${explainError(e)}`);
    }
  }

  if (!/^\d+$/.test(id)) return <p role="alert">“{id}” is not a job id.</p>;
  const d = data.data;
  const job = d?.job;
  const currentPhase = job ? phase(job) : undefined;

  return (
    <>
      <h1>Job {id}</h1>
      <ErrorMessage message={data.error} />
      {d === undefined ? <Loading what="the job" /> : null}
      {d !== undefined && job === null ? (
        <p role="status">Job {id} is not indexed yet (the subgraph may be catching up).</p>
      ) : null}
      {job ? (
        <>
          <ol className="steps" aria-label="Progress">
            {STEPS.map((step) => {
              const reached =
                currentPhase !== undefined && stepIndex(step) <= stepIndex(currentPhase);
              return (
                <li
                  key={step}
                  className={reached ? "done" : ""}
                  aria-current={step === currentPhase ? "step" : undefined}
                >
                  {step}
                </li>
              );
            })}
          </ol>
          <Card title="Summary">
            <Facts
              items={[
                [
                  "Status",
                  <Badge key="status" tone={tone(job.status)}>
                    <span data-testid="job-status">{job.status}</span>
                  </Badge>,
                ],
                [
                  "Phase",
                  <span key="phase" data-testid="job-phase">
                    {currentPhase}
                  </span>,
                ],
                [
                  "Requester",
                  <span key="requester" className="mono">
                    {job.requester}
                  </span>,
                ],
                [
                  "Tasks × replicas (quorum)",
                  `${job.taskCount} × ${job.replication} (q = ${job.quorum})`,
                ],
                ["Max price per task-replica", conun(job.maxPrice)],
                ["Escrow posted / still held", `${conun(job.escrow)} / ${conun(job.escrowHeld)}`],
                ["Cost of winning bids", conun(job.cost)],
                [
                  "Paid / refunded / slashed",
                  `${conun(job.paid)} / ${conun(job.refunded)} / ${conun(job.slashed)}`,
                ],
                ["Bidding deadline", time(job.biddingDeadline)],
                ["Commit deadline", time(job.commitDeadline)],
                ["Reveal deadline", time(job.revealDeadline)],
                ["Chain time", time(d?.now)],
                [
                  "Manifest",
                  <a
                    key="manifest"
                    href={`${config.gatewayUrl}/ipfs/${job.manifestCid}`}
                    className="mono"
                  >
                    {shortHash(job.manifestCid)}
                  </a>,
                ],
                [
                  "Image",
                  <span key="image" className="mono">
                    {escapeUntrusted(job.imageRef)}
                  </span>,
                ],
              ]}
            />
          </Card>
          <WhyCard job={job} />
          <Card title="Actions">
            <div className="row" data-testid="job-actions">
              {session && d !== undefined
                ? d.plan.actions.map((action) => (
                    <ActionButton
                      key={action.kind}
                      action={action}
                      disabled={busy !== undefined}
                      onRun={(label, run) => act(label, run)}
                      jobId={job.jobId}
                    />
                  ))
                : null}
              {job.status === "Finalized" && job.groups.some((g) => g.outcome === "Agreed") ? (
                <button type="button" onClick={() => void verify(job)}>
                  Download and verify results
                </button>
              ) : null}
              {session === null ? (
                <span className="muted">Connect an account to act on this job.</span>
              ) : null}
            </div>
            {d !== undefined ? <ActionTiming plan={d.plan} /> : null}
            <Status message={status} />
            <ErrorMessage message={error} />
          </Card>
          {check ? <ResultsCard check={check} /> : null}
          <Card title={`Bids (${job.bids.length})`}>
            {job.bids.length === 0 ? (
              <p className="muted">No bids yet.</p>
            ) : (
              <Table
                columns={["Provider", "Price", "Capacity", "Allotted", "Status"]}
                rows={job.bids}
                rowKey={(bid) => bid.id}
                testId="bids"
                cells={(bid) => (
                  <>
                    <td>
                      <Address value={bid.provider} />
                    </td>
                    <td>{conun(bid.price)}</td>
                    <td>{bid.capacity}</td>
                    <td>{bid.allotted}</td>
                    <td>
                      <Badge tone={tone(bid.status)}>{bid.status}</Badge>
                    </td>
                  </>
                )}
              />
            )}
          </Card>
          <Card title={`Replica groups (${job.groups.length})`}>
            {job.groups.length === 0 ? (
              <p className="muted">Groups are formed when bidding closes.</p>
            ) : null}
            {job.groups.map((group) => (
              <section key={group.id} className="group" aria-label={`Group ${group.groupId}`}>
                <h3>
                  Group {group.groupId}: tasks {group.taskStart}–
                  {group.taskStart + group.taskCount - 1} · {group.commitCount}/{job.replication}{" "}
                  committed · {group.revealCount}/{job.replication} revealed ·{" "}
                  <Badge tone={tone(group.outcome)}>{group.outcome}</Badge>
                </h3>
                <Table
                  columns={[
                    "Lane",
                    "Provider",
                    "Committed",
                    "Revealed root",
                    "Outcome",
                    "Paid / slashed",
                  ]}
                  rows={group.members}
                  rowKey={(m) => m.lane}
                  cells={(m) => (
                    <>
                      <td>{m.lane}</td>
                      <td>
                        <Address value={m.provider} />
                      </td>
                      <td>{m.committedAt ? time(m.committedAt) : "—"}</td>
                      <td className="mono">{shortHash(m.resultRoot)}</td>
                      <td>
                        <Badge tone={tone(m.outcome)}>{m.outcome}</Badge>
                        {m.slashReason ? ` (${m.slashReason})` : ""}
                      </td>
                      <td>
                        {conun(m.payment)} / {conun(m.slashedAmount)}
                      </td>
                    </>
                  )}
                />
                {group.refund > 0n ? <p>Refunded to the requester: {conun(group.refund)}</p> : null}
              </section>
            ))}
          </Card>
          <Card title="Token flows">
            {job.flows.length === 0 ? (
              <p className="muted">None yet.</p>
            ) : (
              <Table
                columns={["Block", "Kind", "Account", "Amount"]}
                rows={job.flows}
                rowKey={(f) => `${f.transactionHash}-${f.kind}-${f.account}-${f.amount}`}
                testId="flows"
                cells={(f) => (
                  <>
                    <td>{f.blockNumber.toString()}</td>
                    <td>{f.kind}</td>
                    <td className="mono">{f.account.slice(0, 10)}…</td>
                    <td>{conun(f.amount)}</td>
                  </>
                )}
              />
            )}
          </Card>
        </>
      ) : null}
    </>
  );
}

type Sent = { wait(n: number, t: number): Promise<unknown> };

/** One button per action `availableActions` offers; the label says what it moves. */
function ActionButton({
  action,
  jobId,
  disabled,
  onRun,
}: {
  action: JobAction;
  jobId: bigint;
  disabled: boolean;
  onRun: (label: string, run: (market: JobMarket) => Promise<Sent>) => void;
}) {
  const [label, run, text]: [string, (m: JobMarket) => Promise<Sent>, string] =
    action.kind === "cancel"
      ? ["Cancel", (m) => m.cancelJob(jobId), "Cancel job"]
      : action.kind === "closeBidding"
        ? ["Close bidding", (m) => m.closeBidding(jobId), "Close bidding"]
        : action.kind === "finalize"
          ? ["Finalize", (m) => m.finalize(jobId), "Finalize"]
          : action.kind === "claim"
            ? [
                "Claim",
                (m) => m.claim(jobId),
                `Claim ${conun(action.payment - action.fee)}${
                  action.stakeReleased > 0n ? ` and ${conun(action.stakeReleased)} of stake` : ""
                }`,
              ]
            : ["Withdraw", (m) => m.withdraw(), `Withdraw ${conun(action.amount)}`];
  return (
    <button type="button" disabled={disabled} onClick={() => onRun(label, run)}>
      {text}
    </button>
  );
}

/** When chain time will open (or close) an action, so a missing button is not a mystery. */
function ActionTiming({ plan }: { plan: ActionPlan }) {
  const parts: string[] = [];
  if (plan.cancelUntil !== undefined) {
    parts.push(`Cancelling is possible until chain time ${time(plan.cancelUntil)}.`);
  }
  if (plan.upcoming?.kind === "closeBidding") {
    parts.push(`Bidding can be closed from chain time ${time(plan.upcoming.from)}.`);
  } else if (plan.upcoming?.kind === "finalize") {
    parts.push(
      `Finalizing is possible once every group's results are revealed, and in any case from chain time ${time(plan.upcoming.from)}.`,
    );
  }
  if (parts.length === 0) return null;
  return (
    <p className="muted" data-testid="action-timing">
      {parts.join(" ")}
    </p>
  );
}

function ResultsCard({ check }: { check: JobCheck }) {
  // Verified is not succeeded: the quorum may have agreed that a task failed.
  const needLook = check.groups.flatMap((g) => g.tasks).filter((t) => t.attention !== undefined);
  return (
    <Card title="Results">
      <p data-testid="verify-summary" role="status">
        {check.ok ? (
          <Badge tone="good">All results verified</Badge>
        ) : (
          <Badge tone="bad">Some results did not verify</Badge>
        )}
        {needLook.length > 0 ? (
          <>
            {" "}
            <Badge tone="warn">
              {needLook.length === 1 ? "1 task needs" : `${needLook.length} tasks need`} a look
              (failed, exit ≠ 0 or empty output)
            </Badge>
          </>
        ) : null}
        {check.skippedGroups.length > 0
          ? ` · groups without quorum (refunded): ${check.skippedGroups.join(", ")}`
          : ""}
      </p>
      {check.groups.map((group) => (
        <section key={group.groupId} aria-label={`Results of group ${group.groupId}`}>
          <h3>
            Group {group.groupId} · bundle{" "}
            <span className="mono">{shortHash(group.resultsCid)}</span> · root{" "}
            {group.rootMatches ? (
              <Badge tone="good">matches chain</Badge>
            ) : (
              <Badge tone="bad">differs from chain</Badge>
            )}
          </h3>
          <ul className="tasks">
            {group.tasks.map((task) => (
              <li key={task.index} data-testid={`task-${task.index}`}>
                Task {task.index}: <Badge tone={tone(task.verdict)}>{task.verdict}</Badge> (
                {task.status})
                {task.attention !== undefined ? (
                  <>
                    {" "}
                    <Badge tone="warn">{task.attention}</Badge>
                    {/* The provider's word, outside the leaf: escaped, and said to be unverified. */}
                    <pre className="outcome" data-testid={`task-${task.index}-outcome`}>
                      {describeOutcome(
                        task.outcome,
                        `the provider of bundle ${shortHash(group.resultsCid)}`,
                      ).join("\n")}
                    </pre>
                  </>
                ) : null}
                {task.files.map((file) => (
                  <a
                    key={file.path}
                    href={file.url}
                    download={escapeUntrusted(
                      `task-${task.index}-${file.path.replaceAll("/", "_")}`,
                    )}
                  >
                    {" "}
                    {escapeUntrusted(file.path)} ({file.size} B)
                  </a>
                ))}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </Card>
  );
}

/** Why the job ended Unfilled, or why groups had no quorum (sdk/queries/reasons.ts). */
function WhyCard({ job }: { job: JobDetails }) {
  const { subgraph } = useApp();
  const unfilled = job.status === "Unfilled";
  const providers = usePoll(
    () => (unfilled ? listProviders(subgraph, { first: 1000 }) : Promise.resolve([])),
    0,
    [job.id, unfilled],
  );
  if (!unfilled && !job.groups.some((g) => g.outcome === "NoQuorum")) return null;
  if (providers.error !== undefined && providers.data === undefined)
    return (
      <ErrorMessage message={`Cannot load the providers to explain this job: ${providers.error}`} />
    );
  if (providers.data === undefined) return <Loading what="the reasons" />;
  const { lines } = jobReasons(job, providers.data);
  return (
    <Card title={unfilled ? "Why it did not fill" : "Why no quorum"}>
      <ul className="reasons" data-testid="job-reasons">
        {lines.map((line) => (
          <li key={line}>{line.replace(/^- /, "")}</li>
        ))}
      </ul>
    </Card>
  );
}
