// A temporary directory with a local content store behind a real HTTP gateway, opened before and
// closed after each test: the set-up the dApp's results checks (verify*.test.ts) run against.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type ContentGateway, startContentGateway } from "../../sdk/content/gateway.ts";
import { type ContentStore, openContentStore } from "../../sdk/content/index.ts";
import { silentLogger } from "../../sdk/logger.ts";

export interface GatewayWorkspace {
  /** The test's own temporary directory (the store lives in its `store` folder). */
  work: string;
  store: ContentStore;
  gateway: ContentGateway;
}

/** Registers mocha hooks that give each test a fresh workspace; read its fields inside tests. */
export function useGatewayWorkspace(prefix: string): GatewayWorkspace {
  const workspace = {} as GatewayWorkspace;
  beforeEach(async () => {
    workspace.work = await mkdtemp(path.join(tmpdir(), prefix));
    workspace.store = await openContentStore({
      kind: "local",
      dir: path.join(workspace.work, "store"),
    });
    workspace.gateway = await startContentGateway({ store: workspace.store, log: silentLogger });
  });
  afterEach(async () => {
    await workspace.gateway.close();
    await workspace.store.close();
    await rm(workspace.work, { recursive: true, force: true });
  });
  return workspace;
}
