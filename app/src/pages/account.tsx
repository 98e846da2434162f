import { parseUnits } from "ethers";
import { useEffect, useState } from "react";
import { explainError } from "../../../sdk/chain/reverts.ts";
import { Card, ErrorMessage, Facts, Status } from "../components/ui.tsx";
import { LOCAL_CHAIN_IDS } from "../config.ts";
import { useApp } from "../context.ts";
import { conun } from "../lib/format.ts";
import { usePoll } from "../lib/hooks.ts";
import {
  connectDev,
  connectInjected,
  devAccounts,
  injectedWallet,
  switchInjectedChain,
  WrongChainError,
} from "../lib/session.ts";

export function AccountPage() {
  const { config, reader, read, session, setSession } = useApp();
  const [error, setError] = useState<string>();
  const [wrongChain, setWrongChain] = useState(false);
  const [status, setStatus] = useState<string>();
  const [accounts, setAccounts] = useState<string[]>([]);
  const [chosen, setChosen] = useState("");
  const local = LOCAL_CHAIN_IDS.has(config.chainId);

  useEffect(() => {
    if (!local) return;
    devAccounts(config, reader).then(
      (list) => {
        setAccounts(list);
        setChosen((c) => c || (list[2] ?? list[0] ?? ""));
      },
      (e: unknown) => setError(explainError(e)),
    );
  }, [config, reader, local]);

  const funds = usePoll(
    async () => {
      if (session === null) return null;
      const [balance, allowance, claimable, eth] = await Promise.all([
        read.token.balanceOf(session.address),
        read.token.allowance(session.address, config.addresses.market),
        read.market.claimableBalance(session.address),
        reader.getBalance(session.address),
      ]);
      return { balance, allowance, claimable, eth };
    },
    1500,
    [session?.address],
  );

  async function act(what: string, run: () => Promise<void>) {
    setError(undefined);
    setWrongChain(false);
    setStatus(what);
    try {
      await run();
      setStatus(undefined);
      funds.refresh();
    } catch (e) {
      setStatus(undefined);
      if (e instanceof WrongChainError) setWrongChain(true);
      setError(e instanceof WrongChainError ? e.message : explainError(e));
    }
  }

  return (
    <>
      <h1>Account</h1>
      <Card title="Connect">
        <p>
          Network: chain {config.chainId}
          {config.networkName ? ` (${config.networkName})` : ""}
        </p>
        <div className="row">
          <button
            type="button"
            onClick={() =>
              act("Waiting for your wallet…", async () => setSession(await connectInjected(config)))
            }
            disabled={injectedWallet() === undefined}
          >
            Connect browser wallet
          </button>
          {injectedWallet() === undefined ? (
            <span className="muted">No browser wallet detected.</span>
          ) : null}
        </div>
        {wrongChain ? (
          <button
            type="button"
            onClick={() => act("Switching network…", () => switchInjectedChain(config))}
          >
            Switch wallet to chain {config.chainId}
          </button>
        ) : null}
        {local ? (
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              void act("Connecting…", async () =>
                setSession(await connectDev(config, reader, chosen)),
              );
            }}
          >
            <label htmlFor="dev-account">Development account (local chain only)</label>
            <select id="dev-account" value={chosen} onChange={(e) => setChosen(e.target.value)}>
              {accounts.map((a, i) => (
                <option key={a} value={a}>
                  #{i} {a}
                </option>
              ))}
            </select>
            <button type="submit" disabled={chosen === ""}>
              Use development account
            </button>
          </form>
        ) : null}
        {session ? (
          <p>
            Connected as{" "}
            <span className="mono" data-testid="connected-address">
              {session.address}
            </span>{" "}
            ({session.kind === "dev" ? "development account" : "browser wallet"}){" "}
            <button type="button" className="link" onClick={() => setSession(null)}>
              Disconnect
            </button>
          </p>
        ) : null}
        <Status message={status} />
        <ErrorMessage message={error} />
      </Card>
      {session ? (
        <Card title="Funds">
          <ErrorMessage message={funds.error} />
          {funds.data ? (
            <Facts
              items={[
                [
                  "CONUN balance",
                  <span key="conun-balance" data-testid="balance">
                    {conun(funds.data.balance)}
                  </span>,
                ],
                ["Allowance for the market", conun(funds.data.allowance)],
                [
                  "Withdrawable from the market",
                  <span key="withdrawable-from-the-market" data-testid="claimable">
                    {conun(funds.data.claimable)}
                  </span>,
                ],
                ["Gas balance", `${(Number(funds.data.eth / 10n ** 14n) / 1e4).toString()} ETH`],
              ]}
            />
          ) : null}
          <div className="row">
            <button
              type="button"
              disabled={!funds.data || funds.data.claimable === 0n}
              onClick={() =>
                act("Withdrawing…", async () => {
                  const tx = await session.contracts.market.withdraw();
                  await tx.wait(1, 120_000);
                  setStatus("Withdrawn.");
                })
              }
            >
              Withdraw {funds.data ? conun(funds.data.claimable) : ""}
            </button>
            {local ? (
              <button
                type="button"
                onClick={() =>
                  act("Sending test CONUN…", async () => {
                    // The deployer (account #0) holds the supply on a local chain.
                    const holder = await connectDev(config, reader, accounts[0] ?? "");
                    const tx = await holder.contracts.token.transfer(
                      session.address,
                      parseUnits("1000", 18),
                    );
                    await tx.wait(1, 120_000);
                  })
                }
              >
                Get 1000 test CONUN
              </button>
            ) : null}
            <a href={`#/providers/${session.address.toLowerCase()}`}>My provider record</a>
          </div>
        </Card>
      ) : null}
    </>
  );
}
