import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { HardhatArtifactResolver } from "@nomicfoundation/hardhat-ignition/helpers";
import { DeploymentResultType, deploy } from "@nomicfoundation/ignition-core";
import { expect } from "chai";
import hre from "hardhat";
import ConunModule from "../../ignition/modules/conun.js";
import { DeploymentError, readDeployment } from "../../sdk/protocol/deployments.js";
import { contractsNetwork } from "./support/index.ts";

// readDeployment reads what Ignition writes to disk. The in-process network never writes
// deployments, so this drives ignition-core's own `deploy` with a deployment folder: the files
// read below are Ignition's real journal and address book, not hand-made copies.
const { connection, ethers } = await contractsNetwork();

let deploymentsDir: string;
let deployed: Record<string, { address: string }>;
let chainId: number;

/** Where contract code first appears: the block the contract was deployed in. */
async function codeAppearsAt(address: string, block: number): Promise<boolean> {
  const before = await ethers.provider.getCode(address, block - 1);
  const at = await ethers.provider.getCode(address, block);
  return before === "0x" && at !== "0x";
}

describe("readDeployment", () => {
  before(async () => {
    deploymentsDir = await mkdtemp(path.join(os.tmpdir(), "conun-deployments-"));
    chainId = Number((await ethers.provider.getNetwork()).chainId);
    const accounts = (await connection.provider.request({ method: "eth_accounts" })) as string[];
    const result = await deploy({
      artifactResolver: new HardhatArtifactResolver(hre.artifacts),
      provider: connection.provider,
      deploymentDir: path.join(deploymentsDir, `chain-${chainId}`),
      ignitionModule: ConunModule,
      deploymentParameters: {},
      accounts,
    });
    if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
      throw new Error(`Ignition deployment failed: ${result.type}`);
    }
    deployed = result.contracts;
  });

  after(async () => {
    await rm(deploymentsDir, { recursive: true, force: true });
  });

  it("returns the addresses Ignition deployed", async () => {
    const deployment = await readDeployment(chainId, { deploymentsDir });
    expect(deployment.chainId).to.equal(chainId);
    expect(deployment.token).to.equal(deployed["Conun#ConunToken"]?.address);
    expect(deployment.registry).to.equal(deployed["Conun#ProviderRegistry"]?.address);
    expect(deployment.market).to.equal(deployed["Conun#JobMarket"]?.address);
    expect(deployment.assignment).to.equal(deployed["Conun#Assignment"]?.address);
    const market = await ethers.getContractAt("JobMarket", deployment.market);
    expect(await market.registry()).to.equal(deployment.registry);
    expect(await market.token()).to.equal(deployment.token);
  });

  it("reports the block each contract was deployed in, and the earliest as the start block", async () => {
    const deployment = await readDeployment(chainId, { deploymentsDir });
    for (const [key, block] of Object.entries(deployment.deployBlocks)) {
      const address = deployment[key as keyof typeof deployment.deployBlocks];
      expect(await codeAppearsAt(address, block), `${key} at block ${block}`).to.equal(true);
    }
    expect(deployment.startBlock).to.equal(Math.min(...Object.values(deployment.deployBlocks)));
  });

  it("says plainly when a chain has no deployment", async () => {
    const error = await readDeployment(chainId + 1, { deploymentsDir }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(DeploymentError);
    expect((error as DeploymentError).code).to.equal("deployment-not-found");
    expect((error as DeploymentError).message).to.contain(String(chainId + 1));
  });

  it("refuses a deployment whose address book lacks a contract", async () => {
    const broken = path.join(deploymentsDir, "broken");
    const source = path.join(deploymentsDir, `chain-${chainId}`);
    const addresses = JSON.parse(
      await readFile(path.join(source, "deployed_addresses.json"), "utf8"),
    ) as Record<string, string>;
    delete addresses["Conun#JobMarket"];
    await rm(broken, { recursive: true, force: true });
    await cp(source, broken, { recursive: true });
    await writeFile(path.join(broken, "deployed_addresses.json"), JSON.stringify(addresses));
    const error = await readDeployment(chainId, { deploymentsDir, deploymentId: "broken" }).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(DeploymentError);
    expect((error as DeploymentError).code).to.equal("deployment-incomplete");
    expect((error as DeploymentError).message).to.contain("JobMarket");
  });
});
