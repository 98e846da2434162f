import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { encryptKeystoreJson, Wallet } from "ethers";
import { ConfigError, loadConfig } from "../../worker/src/config/index.ts";
import { loadWallet } from "../../worker/src/daemon.ts";

describe("loadWallet", function () {
  this.timeout(30_000);
  let dir: string;
  const wallet = Wallet.createRandom();

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "conun-keys-"));
    // Light scrypt parameters keep the test fast; the format is the standard keystore.
    const json = await encryptKeystoreJson(
      { address: wallet.address, privateKey: wallet.privateKey },
      "correct horse",
      { scrypt: { N: 1024 } },
    );
    await writeFile(path.join(dir, "keystore.json"), json);
    await writeFile(path.join(dir, "password"), "correct horse\n");
    await writeFile(path.join(dir, "wrong"), "battery staple\n");
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configWith(key: Record<string, string>, chainId = 11155111) {
    const file = path.join(dir, "worker.json");
    await writeFile(
      file,
      JSON.stringify({
        rpcUrl: "http://127.0.0.1:1",
        chainId,
        key,
        contentStore: { kind: "local", dir: "content" },
        dataDir: "data",
      }),
    );
    return loadConfig({ file });
  }

  it("decrypts a keystore with the password from a file", async () => {
    const loaded = await loadWallet(
      await configWith({ keystore: "keystore.json", passwordFile: "password" }),
    );
    expect(loaded.address).to.equal(wallet.address);
  });

  it("decrypts a keystore with the password from the configuration (environment)", async () => {
    const loaded = await loadWallet(
      await configWith({ keystore: "keystore.json", password: "correct horse" }),
    );
    expect(loaded.address).to.equal(wallet.address);
  });

  it("names the keystore setting when the password is wrong", async () => {
    const error = await loadWallet(
      await configWith({ keystore: "keystore.json", passwordFile: "wrong" }),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems).to.deep.equal([
      "key.keystore: cannot decrypt the keystore with the given password",
    ]);
  });

  it("uses a raw development key on the local chain", async () => {
    const loaded = await loadWallet(await configWith({ devKey: wallet.privateKey }, 31337));
    expect(loaded.address).to.equal(wallet.address);
  });
});
