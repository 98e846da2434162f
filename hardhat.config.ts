import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";
import { conunTasks } from "./requester/hardhat/index.ts";
import { readDevnet } from "./sdk/devnet.ts";
import { describeError } from "./sdk/errors.ts";

// Hardhat cannot download compilers on our machines, so every profile uses the solcjs build
// shipped in the `solc` npm package (pinned in package.json). Its version must match.
const require = createRequire(import.meta.url);
const solc = {
  version: (require("solc/package.json") as { version: string }).version,
  path: require.resolve("solc/soljson.js"),
};
const compilerSettings = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  viaIR: true,
};

/**
 * Where `--network localhost` goes: CONUN_LOCALHOST_URL when set (the demo uses it to deploy
 * with Ignition to whatever port its chain got), else the chain of a running demo (its devnet
 * record, sdk/devnet.ts), else Hardhat's usual 127.0.0.1:8545.
 */
function localhostUrl(): string {
  const fromEnv = process.env.CONUN_LOCALHOST_URL?.trim();
  if (fromEnv) return fromEnv;
  try {
    return readDevnet()?.rpcUrl ?? "http://127.0.0.1:8545";
  } catch (error) {
    // A broken record must not stop every Hardhat command (tests, builds): say so, go on.
    process.stderr.write(`warning: ${describeError(error)}\n`);
    return "http://127.0.0.1:8545";
  }
}

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  // The requester tools: conun:post, conun:watch, conun:results, … (see requester/hardhat/index.ts).
  tasks: conunTasks,
  solidity: {
    profiles: {
      default: { ...solc, settings: compilerSettings },
      production: { ...solc, settings: compilerSettings },
    },
  },
  // Test-only contracts are not part of the protocol: neither instrumented nor counted.
  coverage: { skipFiles: ["contracts/mocks/**"] },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1" },
    localhost: { type: "http", chainType: "l1", url: localhostUrl() },
    // A public testnet, configured through Hardhat configuration variables
    // (`npx hardhat keystore set SEPOLIA_RPC_URL`, or the environment): nothing secret in git.
    sepolia: {
      type: "http",
      chainType: "l1",
      url: configVariable("SEPOLIA_RPC_URL"),
      accounts: [configVariable("SEPOLIA_PRIVATE_KEY")],
    },
  },
});
