// The devnet's dApp: the app server (app/server.ts) configured for the devnet's chain and
// subgraph, and the content gateway in front of the devnet's content store, which accepts
// uploads from the dApp's origin only.
import { type AppServer, startAppServer } from "../app/server.ts";
import { type ContentGateway, startContentGateway } from "../sdk/content/gateway.ts";
import type { ContentStore } from "../sdk/content/types.ts";
import { type Logger, silentLogger } from "../sdk/logger.ts";
import { freePort } from "../sdk/net.ts";
import type { ChainDeployment } from "./chain.ts";

export interface StartAppOptions {
  store: ContentStore;
  chainId: number;
  rpcUrl: string;
  deployment: Pick<ChainDeployment, "token" | "registry" | "market">;
  subgraphUrl: string;
  /** What the dApp calls the chain (e.g. "local demo chain"). */
  networkName: string;
  /** Build the dApp even when app/dist is up to date (default: only when missing or stale). */
  build?: boolean;
  log?: Logger;
}

export interface RunningApp {
  app: AppServer;
  gateway: ContentGateway;
  /** Stops the app server, then the gateway (the store stays open: it is the caller's). */
  stop(): Promise<void>;
}

/** Serves the content gateway and the dApp, each on a free loopback port. */
export async function startApp(options: StartAppOptions): Promise<RunningApp> {
  const log = options.log ?? silentLogger;
  const appPort = await freePort();
  const gateway = await startContentGateway({
    store: options.store,
    log,
    uploadOrigins: [`http://127.0.0.1:${appPort}`],
  });
  try {
    const { token, registry, market } = options.deployment;
    const app = await startAppServer({
      port: appPort,
      log,
      ...(options.build === undefined ? {} : { build: options.build }),
      config: {
        chainId: options.chainId,
        rpcUrl: options.rpcUrl,
        addresses: { token, registry, market },
        subgraphUrl: options.subgraphUrl,
        gatewayUrl: gateway.url,
        networkName: options.networkName,
      },
    });
    return {
      app,
      gateway,
      stop: async () => {
        await app.close();
        await gateway.close();
      },
    };
  } catch (error) {
    await gateway.close();
    throw error;
  }
}
