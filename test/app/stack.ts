// The whole local system the dApp talks to, in one process: an in-process Hardhat network
// served over HTTP with CORS (the browser calls it directly), the contracts, the embedded
// subgraph host, a local content store behind its HTTP gateway, and the app server; plus
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core). The chain mines a
// block every second when idle, so its time follows the wall clock.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { type Browser, type ConsoleMessage, chromium, type Page } from "playwright-core";
import type { AppServer } from "../../app/server.ts";
import { busyboxImage, saveImage, type TestImage } from "../../devnet/images.ts";
import {
  devWallets,
  LOCAL_CHAIN_ID,
  localProvider,
  startApp,
  startWorkerProcess,
  tails,
  type WorkerProcess,
  type WorkerSite,
  waitFor,
} from "../../devnet/index.ts";
import {
  type Connection,
  deployProtocol,
  ONE,
  type Protocol,
  registerProviders,
} from "../../devnet/protocol.ts";
import type { ContentGateway } from "../../sdk/content/gateway.ts";
import { type ContentStore, openContentStore } from "../../sdk/content/index.ts";
import {
  addressesOf,
  indexProtocol,
  serveOverHttp,
  type TestIndexer,
} from "../helpers/subgraph-host.ts";

export const SCREENSHOT_DIR = path.join(
  import.meta.dirname,
  "..",
  "..",
  "test-artifacts",
  "screenshots",
);

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface AppStack {
  connection: Connection;
  protocol: Protocol;
  rpcUrl: string;
  indexer: TestIndexer;
  store: ContentStore;
  gateway: ContentGateway;
  app: AppServer;
  browser: Browser;
  work: string;
  close(): Promise<void>;
}

/**
 * The chain's block interval when idle. Transactions are still mined as they arrive
 * (automine), but an idle chain mines a block every second, so chain time follows the wall
 * clock and deadlines pass in real time with nobody sending anything — as on the demo's chain.
 */
export const INTERVAL_MINING_MS = 1000;

export async function startAppStack(): Promise<AppStack> {
  const connection = await network.create({
    chainType: "l1",
    override: {
      // Like the demo's chain: blocks may share a second, so set-up transactions do not push
      // chain time ahead of the wall clock.
      allowBlocksWithSameTimestamp: true,
      mining: { auto: true, interval: INTERVAL_MINING_MS },
    },
  });
  const protocol = await deployProtocol(connection);
  await registerProviders(protocol, protocol.providers.slice(0, 3));
  const rpc = await serveOverHttp(connection);
  const indexer = await indexProtocol(connection, protocol, rpc.url);
  const work = await mkdtemp(path.join(tmpdir(), "conun-app-test-"));
  const store = await openContentStore({ kind: "local", dir: path.join(work, "store") });
  const { app, gateway } = await startApp({
    store,
    chainId: LOCAL_CHAIN_ID,
    rpcUrl: rpc.url,
    deployment: await addressesOf(protocol),
    subgraphUrl: indexer.url,
    networkName: "test chain",
    build: process.env.CONUN_APP_NO_BUILD === undefined,
  });
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  return {
    connection,
    protocol,
    rpcUrl: rpc.url,
    indexer,
    store,
    gateway,
    app,
    browser,
    work,
    close: async () => {
      await browser.close().catch(() => undefined);
      await app.close();
      await gateway.close();
      await store.close();
      await indexer.destroy();
      await rpc.close();
      await connection.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** Collects console errors and uncaught exceptions of a page, to fail the test on any. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message: ConsoleMessage) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  return errors;
}

/**
 * An injected EIP-1193 wallet for the page, standing in for a browser extension (none can be
 * installed in headless Chromium here). It reports `chainId`, holds `account`, forwards
 * everything else to the node, and answers the methods in `reject` as a user clicking
 * "Reject" would (EIP-1193 error 4001).
 */
export function injectedWalletScript(options: {
  rpcUrl: string;
  chainId: number;
  account: string;
  reject?: string[];
}): string {
  return `(() => {
    const o = ${JSON.stringify(options)};
    let id = 0;
    window.ethereum = {
      isMetaMask: false,
      on() {},
      removeListener() {},
      async request({ method, params }) {
        if (method === "eth_chainId") return "0x" + o.chainId.toString(16);
        if (method === "eth_requestAccounts" || method === "eth_accounts") return [o.account];
        if ((o.reject || []).includes(method)) {
          const error = new Error("User rejected the request.");
          error.code = 4001;
          throw error;
        }
        const res = await fetch(o.rpcUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params || [] }),
        });
        const body = await res.json();
        if (body.error) {
          const error = new Error(body.error.message);
          error.code = body.error.code;
          error.data = body.error.data;
          throw error;
        }
        return body.result;
      },
    };
  })();`;
}

/** Real `conun-worker` processes on the stack's (moving) chain, registered and staked. */
export interface StackWorkers {
  workers: WorkerProcess[];
  /** The busybox test image, stored as an archive: `imageRef` is its `ipfs://` reference. */
  image: TestImage;
  imageRef: string;
  /** SIGTERM to each, waiting for its exit. */
  stop(): Promise<void>;
}

/**
 * Starts one provider daemon per development account in `accounts` (accounts the stack did not
 * register), each funded with 1000 CONUN, and waits until every one has registered and staked
 * by itself. The workers read the stack's chain, contracts and content store.
 */
export async function startStackWorkers(
  stack: AppStack,
  accounts: number[],
  namePrefix: string,
): Promise<StackWorkers> {
  const { market, registry, token, owner } = stack.protocol;
  // Only the keys and addresses are used: the provider is not needed past this line.
  const derivedOn = localProvider(stack.rpcUrl);
  const { wallets, keys } = devWallets(derivedOn);
  derivedOn.destroy();
  for (const account of accounts) {
    const wallet = wallets[account];
    if (wallet === undefined) throw new Error(`no development account ${account}`);
    await (await token.connect(owner).transfer(wallet.address, 1000n * ONE)).wait();
  }
  const image = await busyboxImage();
  const imageCid = await stack.store.addFile(
    await saveImage(image.id, path.join(stack.work, `${namePrefix}-image.tar`)),
  );
  // Where the workers run: the stack's own chain, its contracts and its content store.
  const host: WorkerSite = {
    dir: stack.work,
    storeDir: path.join(stack.work, "store"),
    node: {
      url: stack.rpcUrl,
      chainId: LOCAL_CHAIN_ID,
      deployment: {
        token: await token.getAddress(),
        registry: await registry.getAddress(),
        market: await market.getAddress(),
        assignment: "",
        startBlock: 0,
      },
      keys,
      wallets,
    },
  };
  const workers: WorkerProcess[] = [];
  const stop = async () => {
    for (const w of workers) await w.stop();
  };
  try {
    for (const account of accounts) {
      workers.push(await startWorkerProcess(host, { name: `${namePrefix}-${account}`, account }));
    }
    await waitFor(
      "the workers to register and stake",
      async () => {
        for (const w of workers) {
          const p = await registry.getProvider(w.address);
          if (!p.registered || p.stake === 0n) return false;
        }
        return true;
      },
      90_000,
      () => tails(workers),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { workers, image, imageRef: `ipfs://${imageCid}`, stop };
}

/** A describe block's own stack, and pages connected as development accounts. */
export interface BrowserSuite {
  /** The stack, once the suite's `before` hook has started it. */
  readonly stack: AppStack;
  /** A new page connected as `account` (one of the node's development accounts). */
  connectedPage(account: string): Promise<Page>;
}

/**
 * Registers the hooks of a browser test suite (call it inside `describe`): one stack for the
 * suite; after each test, a screenshot of the last page (`failureShot`) and its text when the
 * test failed, and a check that no page logged a JavaScript error.
 */
export function useBrowserSuite(failureShot: string): BrowserSuite {
  let stack: AppStack | undefined;
  const pages: { page: Page; errors: string[] }[] = [];
  const started = (): AppStack => {
    if (stack === undefined) throw new Error("the suite's stack is not started yet");
    return stack;
  };

  before(async () => {
    stack = await startAppStack();
    await mkdir(SCREENSHOT_DIR, { recursive: true });
  });

  after(async () => {
    for (const { page } of pages) await page.context().close();
    await stack?.close();
  });

  afterEach(async function () {
    const last = pages.at(-1);
    if (this.currentTest?.state === "failed" && last !== undefined) {
      await last.page
        .screenshot({ path: path.join(SCREENSHOT_DIR, failureShot), fullPage: true })
        .catch(() => undefined);
      console.log(`page text at failure:\n${await last.page.locator("body").textContent()}`);
    }
    for (const { errors } of pages)
      expect(errors, "JavaScript errors in the page").to.deep.equal([]);
  });

  return {
    get stack() {
      return started();
    },
    async connectedPage(account: string): Promise<Page> {
      const context = await started().browser.newContext({
        viewport: { width: 1200, height: 900 },
      });
      context.setDefaultTimeout(20_000);
      const page = await context.newPage();
      pages.push({ page, errors: watchErrors(page) });
      await page.goto(`${started().app.url}/#/account`);
      await page.getByLabel("Development account (local chain only)").selectOption(account);
      await page.getByRole("button", { name: "Use development account" }).click();
      await page.getByTestId("connected-address").filter({ hasText: account }).waitFor();
      return page;
    },
  };
}
