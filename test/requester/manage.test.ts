import { expect } from "chai";
import { ONE } from "../../devnet/protocol.ts";
import { connectRequester } from "../../requester/context.ts";
import { accountStatus, cancelJob, faucet, jobStatus, withdraw } from "../../requester/manage.ts";
import { postJob } from "../../requester/post.ts";
import { readJobProgress } from "../../requester/watch.ts";
import {
  expectConunError,
  freshRequesterFixture,
  type RequesterFixture,
  sourceManifest,
} from "./fixtures.ts";

describe("requester job management", () => {
  let f: RequesterFixture;
  let jobId: bigint;
  let escrow: bigint;

  beforeEach(async () => {
    f = await freshRequesterFixture();
    const posted = await postJob(f.ctx, { manifest: sourceManifest(), baseDir: f.dir });
    jobId = posted.jobId;
    escrow = posted.escrow;
  });
  afterEach(() => f.cleanup());

  it("cancels an open job and withdraws the whole escrow back", async () => {
    const before = await f.p.token.balanceOf(f.requester.address);
    const { refund } = await cancelJob(f.ctx, jobId);
    expect(refund).to.equal(escrow);
    expect((await readJobProgress(f.p.market, jobId)).status).to.equal("Cancelled");
    expect((await accountStatus(f.ctx)).claimable).to.equal(escrow);
    const { amount } = await withdraw(f.ctx);
    expect(amount).to.equal(escrow);
    expect(await f.p.token.balanceOf(f.requester.address)).to.equal(before + escrow);
    expect(await f.p.market.claimableBalance(f.requester.address)).to.equal(0n);
  });

  it("names an unknown job id and the ids that exist", async () => {
    const { message } = await expectConunError(cancelJob(f.ctx, 42n), "unknown-job");
    expect(message).to.contain("job ids run from 1 to 1");
    await expectConunError(jobStatus(f.ctx, 42n), "unknown-job");
  });

  it("refuses to cancel another requester's job", async () => {
    const other = f.p.others[2];
    if (other === undefined) throw new Error("no spare account");
    const ctx = await connectRequester({ signer: other, store: f.store, deployment: f.deployment });
    await expectConunError(cancelJob(ctx, jobId), "not-requester");
    expect((await readJobProgress(f.p.market, jobId)).status).to.equal("Open");
  });

  it("refuses to cancel once the bidding deadline has passed", async () => {
    const { biddingDeadline } = await f.p.market.getJob(jobId);
    await f.connection.networkHelpers.time.increaseTo(biddingDeadline + 1n);
    const { message } = await expectConunError(cancelJob(f.ctx, jobId), "deadline-passed");
    expect(message).to.contain("conun:withdraw");
  });

  it("says there is nothing to withdraw instead of sending a failing transaction", async () => {
    const nonce = await f.connection.ethers.provider.getTransactionCount(f.requester.address);
    await expectConunError(withdraw(f.ctx), "nothing-to-withdraw");
    expect(await f.connection.ethers.provider.getTransactionCount(f.requester.address)).to.equal(
      nonce,
    );
  });

  it("reports the account's balances and jobs", async () => {
    const status = await accountStatus(f.ctx);
    expect(status.account).to.equal(f.requester.address);
    expect(status.balance).to.equal(10_000n * ONE - escrow);
    expect(status.jobs).to.deep.equal([{ jobId, status: "Open" }]);
  });

  it("hands out tokens from the holder on a local chain", async () => {
    const recipient = f.p.others[3];
    if (recipient === undefined) throw new Error("no spare account");
    const result = await faucet(f.p.owner, f.deployment.token, recipient.address, "12.5");
    expect(result.amount).to.equal((125n * ONE) / 10n);
    expect(await f.p.token.balanceOf(recipient.address)).to.equal((125n * ONE) / 10n);
    await expectConunError(
      faucet(f.p.owner, f.deployment.token, "0x1234", "1"),
      "invalid-argument",
    );
  });
});
