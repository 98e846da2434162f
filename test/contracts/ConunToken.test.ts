import { expect } from "chai";
import { at, contractsNetwork, ONE, permitsTo, SUPPLY } from "./support/index.ts";

const { connection, ethers, networkHelpers } = await contractsNetwork();

describe("ConunToken", () => {
  async function deployedTokenFixture() {
    const signers = await ethers.getSigners();
    const [deployer, holder, spender, other] = [
      at(signers, 0),
      at(signers, 1),
      at(signers, 2),
      at(signers, 3),
    ];
    const token = await ethers.deployContract("ConunToken", [holder.address, SUPPLY], deployer);
    const permitToSpender = permitsTo(connection, token, spender.address);
    return { token, deployer, holder, spender, other, permitToSpender };
  }

  describe("deployment", () => {
    it("mints the whole fixed supply to the holder and nothing to the deployer", async () => {
      const { token, deployer, holder } = await networkHelpers.loadFixture(deployedTokenFixture);
      await expect(token.deploymentTransaction())
        .to.emit(token, "Transfer")
        .withArgs(ethers.ZeroAddress, holder.address, SUPPLY);
      expect(await token.totalSupply()).to.equal(SUPPLY);
      expect(await token.balanceOf(holder.address)).to.equal(SUPPLY);
      expect(await token.balanceOf(deployer.address)).to.equal(0n);
    });

    it("is named CONUN, with symbol CONUN and 18 decimals", async () => {
      const { token } = await networkHelpers.loadFixture(deployedTokenFixture);
      expect(await token.name()).to.equal("CONUN");
      expect(await token.symbol()).to.equal("CONUN");
      expect(await token.decimals()).to.equal(18n);
    });

    it("exposes no function that could mint or burn after deployment", async () => {
      const { token } = await networkHelpers.loadFixture(deployedTokenFixture);
      const names: string[] = [];
      token.interface.forEachFunction((fragment) => names.push(fragment.name));
      expect(names).to.include("transfer");
      expect(names.filter((name) => /mint|burn/i.test(name))).to.deep.equal([]);
      expect(token.interface.hasFunction("mint")).to.equal(false);
      expect(token.interface.hasFunction("burn")).to.equal(false);
    });
  });

  describe("#permit", () => {
    it("sets the allowance from an EIP-2612 signature and consumes the owner's nonce", async () => {
      const { token, holder, spender, other, permitToSpender } =
        await networkHelpers.loadFixture(deployedTokenFixture);
      const value = 250n * ONE;
      const { deadline, v, r, s } = await permitToSpender(holder, value);

      // Anyone may submit the signature: the holder pays no gas.
      await expect(
        token.connect(other).permit(holder.address, spender.address, value, deadline, v, r, s),
      )
        .to.emit(token, "Approval")
        .withArgs(holder.address, spender.address, value);
      expect(await token.allowance(holder.address, spender.address)).to.equal(value);
      expect(await token.nonces(holder.address)).to.equal(1n);

      await expect(
        token.connect(spender).transferFrom(holder.address, spender.address, value),
      ).to.changeTokenBalances(ethers, token, [holder, spender], [-value, value]);
      expect(await token.allowance(holder.address, spender.address)).to.equal(0n);
    });

    it("uses the CONUN name and version 1 in its EIP-712 domain", async () => {
      const { token } = await networkHelpers.loadFixture(deployedTokenFixture);
      const { chainId } = await ethers.provider.getNetwork();
      const [, name, version, domainChainId, verifyingContract] = await token.eip712Domain();
      expect([name, version, domainChainId, verifyingContract]).to.deep.equal([
        "CONUN",
        "1",
        chainId,
        await token.getAddress(),
      ]);
    });

    it("rejects a signature whose deadline has passed", async () => {
      const { token, holder, spender, permitToSpender } =
        await networkHelpers.loadFixture(deployedTokenFixture);
      const { deadline, v, r, s } = await permitToSpender(holder, ONE, { validFor: 60n });
      await networkHelpers.time.increaseTo(deadline + 1n);

      await expect(token.permit(holder.address, spender.address, ONE, deadline, v, r, s))
        .to.be.revertedWithCustomError(token, "ERC2612ExpiredSignature")
        .withArgs(deadline);
      expect(await token.allowance(holder.address, spender.address)).to.equal(0n);
    });

    it("rejects a signature made by someone other than the owner", async () => {
      const { token, holder, spender, other, permitToSpender } =
        await networkHelpers.loadFixture(deployedTokenFixture);
      // `other` signs a permit that claims to come from `holder`: nonce and domain are right,
      // the signer is not.
      const { deadline, v, r, s } = await permitToSpender(other, ONE, {
        claimedOwner: holder.address,
      });

      await expect(token.permit(holder.address, spender.address, ONE, deadline, v, r, s))
        .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
        .withArgs(other.address, holder.address);
      expect(await token.allowance(holder.address, spender.address)).to.equal(0n);
    });

    it("cannot be replayed once its nonce is used", async () => {
      const { token, holder, spender, permitToSpender } =
        await networkHelpers.loadFixture(deployedTokenFixture);
      const { deadline, v, r, s } = await permitToSpender(holder, ONE);
      await token.permit(holder.address, spender.address, ONE, deadline, v, r, s);
      await token.connect(spender).transferFrom(holder.address, spender.address, ONE);

      // The replay recovers a different signer because the digest now uses nonce 1.
      await expect(
        token.permit(holder.address, spender.address, ONE, deadline, v, r, s),
      ).to.be.revertedWithCustomError(token, "ERC2612InvalidSigner");
      expect(await token.allowance(holder.address, spender.address)).to.equal(0n);
      expect(await token.nonces(holder.address)).to.equal(1n);
    });
  });
});
