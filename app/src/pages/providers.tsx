import { useState } from "react";
import { getProvider, listProviders, type ProviderOrder } from "../../../sdk/queries/providers.ts";
import { Address, Badge, Card, ErrorMessage, Facts, Loading, Table } from "../components/ui.tsx";
import { useApp } from "../context.ts";
import { conun, percent, time } from "../lib/format.ts";
import { usePoll } from "../lib/hooks.ts";

const ORDERS: [ProviderOrder, string][] = [
  ["tasksCompleted", "Tasks completed"],
  ["successRate", "Success rate"],
  ["netEarnings", "Net earnings"],
  ["slashedAmount", "Slashed amount"],
  ["stake", "Stake"],
];

export function ProvidersPage() {
  const { subgraph } = useApp();
  const [order, setOrder] = useState<ProviderOrder>("tasksCompleted");
  const data = usePoll(() => listProviders(subgraph, { orderBy: order, first: 100 }), 3000, [
    order,
  ]);
  return (
    <>
      <h1>Provider leaderboard</h1>
      <div className="row">
        <label htmlFor="order">Rank by</label>
        <select
          id="order"
          value={order}
          onChange={(e) => setOrder(e.target.value as ProviderOrder)}
        >
          {ORDERS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <ErrorMessage message={data.error} />
      {data.data === undefined ? <Loading what="providers" /> : null}
      {data.data ? (
        <Table
          columns={[
            "#",
            "Provider",
            "Stake",
            "Jobs won",
            "Tasks completed / settled",
            "Success rate",
            "Slashes",
            "Net earnings",
          ]}
          rows={data.data}
          rowKey={(p) => p.id}
          testId="providers"
          cells={(p, i) => (
            <>
              <td>{i + 1}</td>
              <td>
                <Address value={p.id} />
              </td>
              <td>{conun(p.stake)}</td>
              <td>{p.jobsWon}</td>
              <td>
                {p.tasksCompleted.toString()} / {p.tasksSettled.toString()}
              </td>
              <td>{percent(p.successRate)}</td>
              <td>
                {p.slashCount > 0 ? <Badge tone="bad">{p.slashCount}</Badge> : 0} (
                {conun(p.slashedAmount)})
              </td>
              <td>{conun(p.netEarnings)}</td>
            </>
          )}
        />
      ) : null}
    </>
  );
}

export function ProviderPage({ address }: { address: string }) {
  const { subgraph, session } = useApp();
  const data = usePoll(() => getProvider(subgraph, address, { recent: 20 }), 3000, [address]);
  const p = data.data;
  const own = session !== null && session.address.toLowerCase() === address.toLowerCase();
  return (
    <>
      <h1>
        Provider <span className="mono break">{address}</span>
      </h1>
      {own ? (
        <p className="muted">
          This is your account. The worker does the work; this page only reads.
        </p>
      ) : null}
      <ErrorMessage message={data.error} />
      {data.data === undefined && !data.error ? <Loading what="the provider" /> : null}
      {p === null ? <p role="status">No provider record for this address.</p> : null}
      {p ? (
        <>
          <Card title="Record">
            <Facts
              items={[
                ["Registered", p.registered ? `yes, since ${time(p.registeredAt)}` : "no"],
                [
                  "Capabilities",
                  `${p.cpuMillicores} millicores, ${p.memoryMiB} MiB, ${p.gpuCount} GPU`,
                ],
                [
                  "Stake (locked / free)",
                  `${conun(p.stake)} (${conun(p.locked)} / ${conun(p.freeStake)})`,
                ],
                [
                  "Unbonding",
                  p.unbonding > 0n
                    ? `${conun(p.unbonding)} until ${time(p.unbondingReleaseAt)}`
                    : "—",
                ],
                ["Bids (withdrawn)", `${p.bidCount} (${p.withdrawnBidCount})`],
                ["Jobs won / lost", `${p.jobsWon} / ${p.jobsLost}`],
                ["Tasks completed / settled", `${p.tasksCompleted} / ${p.tasksSettled}`],
                [
                  "Success rate",
                  <span key="success-rate" data-testid="success-rate">
                    {percent(p.successRate)}
                  </span>,
                ],
                [
                  "Earnings (gross / fees / net)",
                  `${conun(p.grossEarnings)} / ${conun(p.feesPaid)} / ${conun(p.netEarnings)}`,
                ],
                [
                  "Slashes",
                  <span
                    key="slashes"
                    data-testid="slash-count"
                  >{`${p.slashCount} (${conun(p.slashedAmount)})`}</span>,
                ],
              ]}
            />
          </Card>
          <Card title="Recent bids">
            <Table
              columns={["Job", "Price", "Capacity / allotted", "Bid", "Job status"]}
              rows={p.recentBids}
              rowKey={(bid) => bid.id}
              cells={(bid) => (
                <>
                  <td>
                    <a href={`#/jobs/${bid.jobId}`}>Job {bid.jobId}</a>
                  </td>
                  <td>{conun(bid.price)}</td>
                  <td>
                    {bid.capacity} / {bid.allotted}
                  </td>
                  <td>{bid.status}</td>
                  <td>{bid.jobStatus}</td>
                </>
              )}
            />
          </Card>
          <Card title="Slashes">
            {p.recentSlashes.length === 0 ? (
              <p>None.</p>
            ) : (
              <ul>
                {p.recentSlashes.map((s) => (
                  <li key={`${s.jobId}-${s.groupId}`}>
                    <a href={`#/jobs/${s.jobId}`}>Job {s.jobId}</a>, group {s.groupId}:{" "}
                    {conun(s.amount)} ({s.reason}) at {time(s.timestamp)}
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </>
      ) : null}
    </>
  );
}
