import { expect } from "chai";
import { formatStatus } from "../../worker/src/status.ts";

describe("formatStatus", () => {
  it("shows stake, earnings and one line per job", () => {
    const text = formatStatus({
      address: "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
      chainId: 31337,
      stake: { total: "100.0", locked: "10.0", free: "90.0" },
      walletBalance: "900.0",
      earnings: { paid: "0.01188", fees: "0.00012", jobsPaid: 1 },
      jobs: [
        { jobId: "1", phase: "claimed", onChain: "-", tasks: 1, succeeded: 1, payment: "0.012" },
        { jobId: "2", phase: "committed", onChain: "Awarded", tasks: 4, succeeded: 4 },
        { jobId: "3", phase: "closed", onChain: "-", tasks: 0, succeeded: 0, reason: "bid lost" },
      ],
    });
    const lines = text.split("\n");
    expect(lines[0]).to.equal(
      "provider   0x90F79bf6EB2c4f870365E785982E1f101E93b906 (chain 31337)",
    );
    expect(lines[1]).to.equal("stake      100.0 CONUN (locked 10.0, free 90.0)");
    expect(lines[3]).to.equal("earnings   0.01188 CONUN net over 1 job(s), fees 0.00012");
    expect(lines.slice(6)).to.deep.equal([
      "1       claimed      -               1   1    0.012 ",
      "2       committed    Awarded         4   4        - ",
      "3       closed       -               0   0        - bid lost",
    ]);
  });

  it("says so when there are no jobs yet", () => {
    const text = formatStatus({
      address: "0x0",
      chainId: 1,
      stake: { total: "0.0", locked: "0.0", free: "0.0" },
      walletBalance: "0.0",
      earnings: { paid: "0.0", fees: "0.0", jobsPaid: 0 },
      jobs: [],
    });
    expect(text.split("\n").at(-1)).to.equal("(no jobs yet)");
  });
});
