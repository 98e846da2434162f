// A TCP proxy on loopback that a test can cut and restore, to play an RPC outage: while cut,
// open connections are reset and new ones refused; restored, it forwards again on the same port.
import net from "node:net";

export interface TcpProxy {
  url: string;
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const handle = (client: net.Socket) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  };
  let server = net.createServer(handle);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const address = server.address();
        resolve(typeof address === "object" && address !== null ? address.port : port);
      });
    });
  const port = await listen(0);
  const stop = async () => {
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  let cut = false;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    cut: async () => {
      if (cut) return;
      cut = true;
      await stop();
    },
    restore: async () => {
      if (!cut) return;
      server = net.createServer(handle);
      await listen(port);
      cut = false;
    },
    close: async () => {
      if (!cut) await stop();
      cut = true;
    },
  };
}
