// A local Hardhat node for the demo, the end-to-end test and the benchmark, started with
// `hardhat run devnet/chain-node.ts` (CONUN_NODE_PORT, default 8545; loopback only).
//
// It is `hardhat node` with one difference: blocks may share a timestamp. A plain node stamps
// every automined block at least one second after the previous one, so a burst of setup
// transactions (deploying, funding, registering providers) pushes chain time tens of seconds
// ahead of the wall clock, and every window measured in chain time (bidding, execution,
// reveal) then closes far later in real time than configured. Here chain time is wall time.
//
// And an idle chain still moves: besides mining each transaction at once (automine), it mines
// a block every second, so chain time follows the wall clock even when nobody sends anything
// and a deadline passes when it says (a job posted from the dApp closes its bidding on time).
import { network } from "hardhat";

/** One block per second when idle; transactions are still mined as they arrive. */
const INTERVAL_MINING_MS = 1000;

const port = Number(process.env.CONUN_NODE_PORT ?? "8545");
const server = await network.createServer(
  {
    network: "node",
    override: {
      allowBlocksWithSameTimestamp: true,
      mining: { auto: true, interval: INTERVAL_MINING_MS },
    },
  },
  "127.0.0.1",
  port,
);
const { address, port: actualPort } = await server.listen();
console.log(`Started HTTP and WebSocket JSON-RPC server at http://${address}:${actualPort}/`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void server.close().finally(() => process.exit(0));
  });
}
await new Promise(() => {});
