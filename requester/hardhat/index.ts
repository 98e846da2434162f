// The requester's Hardhat tasks. Definitions only: each action is a lazily imported module in
// ./actions, and the logic lives in ./lib so the demo, the tests and the dApp can call it
// without the Hardhat CLI. Registered in hardhat.config.ts (`tasks: conunTasks`).

import { task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

const store = {
  name: "store" as const,
  description:
    "Content store directory (default: $CONUN_CONTENT_DIR, else a running demo's store, else .conun/content)",
  defaultValue: "",
};
const storePeer = {
  name: "storePeer" as const,
  description:
    "IPFS nodes to connect to, comma-separated TCP multiaddrs (default: $CONUN_CONTENT_PEERS); selects the IPFS store",
  defaultValue: "",
};
const account: {
  name: "account";
  description: string;
  type: ArgumentType.INT;
  defaultValue: number;
} = {
  name: "account",
  description: "Index of the local account to act as (default 0)",
  type: ArgumentType.INT,
  defaultValue: 0,
};
const job = { name: "job" as const, description: "Job id", defaultValue: "" };

export const conunTasks = [
  task("conun:post", "Post a job from a manifest: upload, escrow, post")
    .addOption({
      name: "manifest",
      description: "Source manifest (JSON or YAML)",
      defaultValue: "",
    })
    .addOption({
      name: "approval",
      description: "permit (one transaction), approve, or existing (use the current allowance)",
      defaultValue: "permit",
    })
    .addOption({
      name: "price",
      description:
        "Max price per task-replica in CONUN, replacing the manifest's; or auto: propose one from the subgraph's recent winning bids for similar jobs (shown with the escrow; posts only with --yes)",
      defaultValue: "",
    })
    .addFlag({ name: "yes", description: "With --price auto: post at the proposed price" })
    .addOption({
      name: "subgraph",
      description:
        "Subgraph GraphQL URL for --price auto (default: $SUBGRAPH_URL, else a running demo's, else http://127.0.0.1:8000/subgraphs/name/conun)",
      defaultValue: "",
    })
    .addOption(store)
    .addOption(storePeer)
    .addOption(account)
    .setAction(() => import("./post.ts"))
    .build(),
  task("conun:watch", "Follow a job's progress until it ends")
    .addOption(job)
    .addFlag({
      name: "passive",
      description: "Only observe: do not close bidding or finalize when due (anyone may)",
    })
    .addOption(storePeer)
    .addOption(account)
    .setAction(() => import("./watch.ts"))
    .build(),
  task("conun:results", "Download, verify and write a finalized job's results")
    .addOption(job)
    .addOption({ name: "out", description: "Directory for the outputs", defaultValue: "" })
    .addOption(store)
    .addOption(storePeer)
    .addOption(account)
    .setAction(() => import("./results.ts"))
    .build(),
  task("conun:cancel", "Cancel your open job; its escrow becomes withdrawable")
    .addOption(job)
    .addOption(store)
    .addOption(storePeer)
    .addOption(account)
    .setAction(() => import("./cancel.ts"))
    .build(),
  task("conun:withdraw", "Withdraw your refunds from the market")
    .addOption(store)
    .addOption(storePeer)
    .addOption(account)
    .setAction(() => import("./withdraw.ts"))
    .build(),
  task("conun:status", "Your balances and jobs, or one job in detail")
    .addOption({ ...job, description: "Job id (omit for your account)" })
    .addOption(store)
    .addOption(storePeer)
    .addOption(account)
    .setAction(() => import("./status.ts"))
    .build(),
  task("conun:faucet", "Local chains only: send CONUN, and 1 ETH for gas, from the deployer")
    .addOption({ name: "to", description: "Recipient address", defaultValue: "" })
    .addOption({ name: "amount", description: "CONUN to send", defaultValue: "1000" })
    .setAction(() => import("./faucet.ts"))
    .build(),
];
