// Serves the dApp against a running local system (a chain with CONUN deployed by Ignition, a
// subgraph), and a content gateway over a local store directory:
//
//   node app/serve.ts --rpc http://127.0.0.1:8545 \
//     --subgraph http://127.0.0.1:8000/subgraphs/name/conun --store .conun/demo/content
//
// Addresses come from ignition/deployments/chain-<id>/ (sdk/protocol/deployments.ts). Pass
// --gateway <url> instead of --store to use a gateway that already runs. Ctrl-C stops.
//
// With `npm run demo -- --keep` running, every option has a default from its devnet record
// (sdk/devnet.ts): its chain, subgraph and gateway, and its deployment's addresses, so
// `npm run app:serve` alone serves a second dApp on the demo's system.
import path from "node:path";
import { parseArgs } from "node:util";
import { rpcChainId } from "../sdk/chain/rpc.ts";
import { startContentGateway } from "../sdk/content/gateway.ts";
import { openContentStore } from "../sdk/content/index.ts";
import { type DevnetRecord, readDevnet, sameRpcUrl } from "../sdk/devnet.ts";
import { describeError } from "../sdk/errors.ts";
import { createLogger } from "../sdk/logger.ts";
import { readDeployment } from "../sdk/protocol/deployments.ts";
import { startAppServer } from "./server.ts";

const USAGE = `usage: node app/serve.ts --rpc <url> --subgraph <url> (--store <dir> | --gateway <url>)
       [--port <n>] [--gateway-port <n>] [--build]
  With \`npm run demo -- --keep\` running, --rpc, --subgraph and --gateway default to its own.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rpc: { type: "string" },
      subgraph: { type: "string" },
      store: { type: "string" },
      gateway: { type: "string" },
      port: { type: "string", default: "5173" },
      "gateway-port": { type: "string", default: "0" },
      build: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  // A running demo fills what is not given, as long as it is its chain that is asked for.
  const devnet = readDevnet();
  const demo: DevnetRecord | undefined =
    devnet !== undefined && (values.rpc === undefined || sameRpcUrl(values.rpc, devnet.rpcUrl))
      ? devnet
      : undefined;
  const rpcUrl = values.rpc ?? demo?.rpcUrl ?? "http://127.0.0.1:8545";
  const subgraphUrl = values.subgraph ?? demo?.subgraphUrl;
  // --store opens a gateway here; without --store or --gateway, use the demo's gateway.
  const gatewayOption =
    values.gateway ?? (values.store === undefined ? demo?.gatewayUrl : undefined);
  if (
    values.help ||
    subgraphUrl === undefined ||
    (values.store === undefined) === (gatewayOption === undefined)
  ) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const log = createLogger({ level: "info" });
  const chainId = await rpcChainId(rpcUrl).catch((cause: unknown) => {
    throw new Error(`cannot reach the chain at ${rpcUrl}: ${describeError(cause)}`, { cause });
  });
  const deployment =
    demo !== undefined && demo.chainId === chainId
      ? demo.deployment
      : await readDeployment(chainId);
  const port = Number(values.port);
  const cleanups: (() => Promise<void>)[] = [];
  let gatewayUrl = gatewayOption as string;
  if (values.store !== undefined) {
    const store = await openContentStore({ kind: "local", dir: path.resolve(values.store) });
    const gateway = await startContentGateway({
      store,
      log,
      port: Number(values["gateway-port"]),
      uploadOrigins: [`http://127.0.0.1:${port}`],
    });
    cleanups.push(
      () => gateway.close(),
      () => store.close(),
    );
    gatewayUrl = gateway.url;
  }
  const app = await startAppServer({
    port,
    build: values.build,
    log,
    config: {
      chainId,
      rpcUrl,
      addresses: {
        token: deployment.token,
        registry: deployment.registry,
        market: deployment.market,
      },
      subgraphUrl,
      gatewayUrl,
    },
  });
  cleanups.unshift(() => app.close());
  console.log(`CONUN dApp: ${app.url}  (gateway ${gatewayUrl})`);
  const stop = () => {
    void (async () => {
      for (const cleanup of cleanups) await cleanup().catch(() => undefined);
      process.exit(0);
    })();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(`serve-app: ${describeError(error)}`);
  process.exit(1);
});
