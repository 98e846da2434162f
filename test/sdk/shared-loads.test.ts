import { expect } from "chai";
import { SharedLoads, Slots } from "../../sdk/content/shared-loads.ts";
import { rejection } from "./content-support.ts";

/** A promise and the functions that settle it, for loads the test finishes by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("SharedLoads and Slots (the IPFS store's block loads)", () => {
  it("runs one load for every caller of a key while it runs, and a new one after it settles", async () => {
    const started: string[] = [];
    const pending = [deferred<string>(), deferred<string>()];
    const loads = new SharedLoads<string>(async (key) => {
      started.push(key);
      return (pending[started.length - 1] ?? deferred<string>()).promise;
    });
    const first = [loads.get("a"), loads.get("a"), loads.get("a")];
    expect(started).to.deep.equal(["a"]);
    pending[0]?.resolve("one");
    expect(await Promise.all(first)).to.deep.equal(["one", "one", "one"]);

    const later = loads.get("a");
    expect(started).to.deep.equal(["a", "a"]);
    pending[1]?.resolve("two");
    expect(await later).to.equal("two");
  });

  it("abandons a load only when every caller has given up, and starts afresh for the next", async () => {
    const signals: AbortSignal[] = [];
    const loads = new SharedLoads<string>(
      (_key, signal) =>
        new Promise((_resolve, reject) => {
          signals.push(signal);
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
    );
    const one = new AbortController();
    const two = new AbortController();
    const first = rejection(loads.get("k", one.signal));
    const second = rejection(loads.get("k", two.signal));
    one.abort(new Error("first gave up"));
    expect(String(await first)).to.contain("first gave up");
    await Promise.resolve();
    expect(signals[0]?.aborted, "still wanted by the second caller").to.equal(false);

    two.abort(new Error("second gave up"));
    expect(String(await second)).to.contain("second gave up");
    expect(signals[0]?.aborted, "nobody wants it").to.equal(true);

    const third = rejection(loads.get("k", AbortSignal.abort(new Error("already gone"))));
    expect(String(await third)).to.contain("already gone");
    const fresh = loads.get("k");
    expect(signals).to.have.length(2);
    expect(signals[1]?.aborted).to.equal(false);
    void fresh.catch(() => {});
  });

  it("hands slots out first come, first served, and drops a waiter that gives up", async () => {
    const slots = new Slots(1);
    await slots.acquire();
    const order: string[] = [];
    const quitter = new AbortController();
    const b = slots.acquire().then(() => order.push("b"));
    const gaveUp = rejection(slots.acquire(quitter.signal));
    const c = slots.acquire().then(() => order.push("c"));
    quitter.abort(new Error("no longer needed"));
    expect(String(await gaveUp)).to.contain("no longer needed");

    slots.release();
    await b;
    slots.release();
    await c;
    expect(order).to.deep.equal(["b", "c"]);
    // Both slots handed on and back: one is free again, so this does not wait.
    slots.release();
    await slots.acquire();
  });
});
