import { expect } from "chai";
import { formatStatus, type WorkerStatus } from "../../worker/src/status.ts";

const base: WorkerStatus = {
  address: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
  chainId: 31337,
  registered: true,
  ethBalance: "0.99",
  walletBalance: "900.0",
  stake: { total: "100.0", locked: "10.0", free: "90.0", unbonding: "0.0" },
  earnings: { paid: "0.01188", fees: "0.00012", jobsPaid: 1 },
  disk: { reservedMiB: 0, budgetMiB: 51_200 },
  slashes: [],
  slashedTotal: "0.0",
  jobs: [],
};

describe("formatStatus", () => {
  it("shows gas, wallet, stake, earnings, slashes and one line per job", () => {
    const text = formatStatus({
      ...base,
      disk: { freeMiB: 9_000, reservedMiB: 30, budgetMiB: 51_200 },
      outputBound: "hard quota (loop-ext4 file system per task)",
      stake: {
        total: "90.0",
        locked: "10.0",
        free: "60.0",
        unbonding: "20.0",
        unbondingReleaseAt: "2026-02-01T00:00:00.000Z",
      },
      slashes: [
        {
          jobId: "4",
          groupId: 0,
          amount: "10.0",
          reason: "wrong result",
          block: 42,
          tx: "0xabc",
        },
      ],
      slashedTotal: "10.0",
      jobs: [
        {
          jobId: "1",
          phase: "claimed",
          onChain: "Finalized",
          tasks: 1,
          succeeded: 1,
          payment: "0.012",
        },
        { jobId: "2", phase: "committed", onChain: "Awarded", tasks: 4, succeeded: 4 },
        {
          jobId: "3",
          phase: "closed",
          onChain: "Awarded",
          tasks: 0,
          succeeded: 0,
          reason: "bid lost",
        },
        {
          jobId: "4",
          phase: "closed",
          onChain: "Finalized",
          tasks: 1,
          succeeded: 1,
          reason: "not paid",
          slashed: "10.0 (wrong result)",
        },
      ],
    });
    expect(text.split("\n")).to.deep.equal([
      "provider   0x90F79bf6EB2c4f870365E785982E1f101E93b906 (chain 31337)",
      "gas        0.99 ETH",
      "wallet     900.0 CONUN",
      "stake      90.0 CONUN (free 60.0, locked 10.0, unbonding 20.0 until 2026-02-01T00:00:00.000Z)",
      "earnings   0.01188 CONUN net over 1 job(s), fees 0.00012",
      "disk       30 of 51200 MiB reserved by active jobs, 9000 MiB free",
      "output     hard quota (loop-ext4 file system per task)",
      "slashes    1, 10.0 CONUN in all",
      "  job 4 group 0: 10.0 CONUN, wrong result (block 42, tx 0xabc)",
      "",
      "job     phase        on chain    tasks  ok  payment  note",
      "1       claimed      Finalized       1   1    0.012 ",
      "2       committed    Awarded         4   4        - ",
      "3       closed       Awarded         0   0        - bid lost",
      "4       closed       Finalized       1   1        - not paid; slashed 10.0 (wrong result)",
    ]);
  });

  it("says so when there are no slashes and no jobs yet, and when not registered", () => {
    const lines = formatStatus({ ...base, registered: false }).split("\n");
    expect(lines[0]).to.equal(
      "provider   0x90F79bf6EB2c4f870365E785982E1f101E93b906 (chain 31337), not registered yet",
    );
    expect(lines[3]).to.equal("stake      100.0 CONUN (free 90.0, locked 10.0, unbonding 0.0)");
    expect(lines[5]).to.equal("disk       0 of 51200 MiB reserved by active jobs");
    expect(lines[6]).to.equal("output     not known until the worker has started");
    expect(lines[7]).to.equal("slashes    none");
    expect(lines.at(-1)).to.equal("(no jobs yet)");
  });
});
