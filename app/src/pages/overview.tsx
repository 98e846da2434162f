import { listJobs } from "../../../sdk/queries/jobs.ts";
import {
  getMeta,
  getNetworkDays,
  getNetworkStats,
  type NetworkDay,
} from "../../../sdk/queries/network.ts";
import { type Bar, BarChart, TimeBars } from "../components/charts.tsx";
import { Badge, Card, ErrorMessage, Facts, Loading, Table } from "../components/ui.tsx";
import { useApp } from "../context.ts";
import { conun, time } from "../lib/format.ts";
import { usePoll } from "../lib/hooks.ts";

const toConun = (wei: bigint) => Number(wei / 10n ** 14n) / 1e4;

/** A chart point per day (labelled MM-DD) with the value `of` gives for it. */
function perDay(days: NetworkDay[] | undefined, of: (day: NetworkDay) => number): Bar[] {
  return (days ?? []).map((day) => ({
    label: new Date(Number(day.date) * 1000).toISOString().slice(5, 10),
    value: of(day),
  }));
}

export function OverviewPage() {
  const { subgraph } = useApp();
  const data = usePoll(
    async () => {
      const [stats, days, jobs, meta] = await Promise.all([
        getNetworkStats(subgraph),
        getNetworkDays(subgraph, 14),
        listJobs(subgraph, { first: 25 }),
        getMeta(subgraph),
      ]);
      return { stats, days: [...days].reverse(), jobs, meta };
    },
    2000,
    [],
  );
  const d = data.data;
  const s = d?.stats;
  // jobsAwarded counts every job ever awarded, finalized ones included.
  const open = s ? s.jobCount - s.jobsCancelled - s.jobsUnfilled - s.jobsAwarded : 0;
  const running = s ? s.jobsAwarded - s.jobsFinalized : 0;

  return (
    <>
      <h1>Network overview</h1>
      <ErrorMessage message={data.error} />
      {d === undefined ? <Loading what="network statistics" /> : null}
      {d && s === null ? <p>No CONUN activity indexed yet.</p> : null}
      {s ? (
        <>
          <Card title="Totals">
            <Facts
              items={[
                [
                  "Jobs",
                  <span key="jobs" data-testid="job-count">
                    {s.jobCount}
                  </span>,
                ],
                ["Tasks posted", s.taskCount.toString()],
                ["Providers", s.providerCount],
                ["Requesters", s.requesterCount],
                ["Escrowed", conun(s.volumeEscrowed)],
                [
                  "Claimed by providers",
                  <span key="claimed-by-providers" data-testid="volume-paid">
                    {conun(s.volumePaid)}
                  </span>,
                ],
                ["Refunded", conun(s.volumeRefunded)],
                ["Slashes", `${s.slashCount} (${conun(s.slashedAmount)})`],
                ["Staked (locked)", `${conun(s.totalStaked)} (${conun(s.totalLocked)})`],
                ["Indexed block", d?.meta.block.number ?? "—"],
              ]}
            />
          </Card>
          <div className="charts">
            <BarChart
              title="Jobs by status"
              bars={[
                { label: "Open", value: open },
                { label: "Running", value: running },
                { label: "Finalized", value: s.jobsFinalized },
                { label: "Cancelled", value: s.jobsCancelled },
                { label: "Unfilled", value: s.jobsUnfilled },
              ]}
            />
            <BarChart
              title="Token volume (CONUN)"
              color="#7a3b8f"
              bars={[
                { label: "Escrowed", value: toConun(s.volumeEscrowed) },
                { label: "Paid", value: toConun(s.volumePaid) },
                { label: "Refunded", value: toConun(s.volumeRefunded) },
                { label: "Slashed", value: toConun(s.slashedAmount) },
                { label: "Fees", value: toConun(s.feesCollected) },
              ]}
            />
            <TimeBars
              title="Jobs posted per day"
              points={perDay(d?.days, (day) => day.jobsPosted)}
            />
            <TimeBars
              title="Active providers per day"
              color="#0b5394"
              points={perDay(d?.days, (day) => day.activeProviders)}
            />
            <TimeBars
              title="Claimed by providers per day (CONUN)"
              color="#7a3b8f"
              points={perDay(d?.days, (day) => toConun(day.volumePaid))}
            />
          </div>
        </>
      ) : null}
      {d ? (
        <Card title="Recent jobs">
          <Table
            columns={["Job", "Status", "Tasks × k", "Escrow", "Paid", "Posted"]}
            rows={d.jobs}
            rowKey={(job) => job.id}
            testId="jobs"
            cells={(job) => (
              <>
                <td>
                  <a href={`#/jobs/${job.jobId}`}>Job {job.jobId.toString()}</a>
                </td>
                <td>
                  <Badge tone={job.status === "Finalized" ? "good" : "neutral"}>{job.status}</Badge>
                </td>
                <td>
                  {job.taskCount} × {job.replication}
                </td>
                <td>{conun(job.escrow)}</td>
                <td>{conun(job.paid)}</td>
                <td>{time(job.postedAt)}</td>
              </>
            )}
          />
        </Card>
      ) : null}
    </>
  );
}
