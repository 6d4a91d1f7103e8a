/**
 * A stand-in for one API server replica in failover tests: a TCP proxy on its own port in front of a real
 * server. `kill()` does to the clients what a dying replica does — the listener goes (new connections are
 * refused) and every open connection is closed, in-flight requests and watches included, as the kernel
 * closes a killed process's sockets. (Not `resetAndDestroy()`: on Node 20 a socket reset while a write is
 * pending can leave the test process spinning at 100 % CPU in its exit cleanup, and CI timed the file out
 * after 600 s with every test passed.) Several proxies
 * in front of one server are replicas over one shared store, as etcd-backed replicas are.
 *
 * Two ways to make the death land at a chosen moment: `freeze()` stops passing the server's bytes to the
 * clients (what a replica does in its last moments: the changes it has are not sent), and `cutAnswers`
 * closes a connection as soon as the server starts answering on it (the request was carried out, the
 * client never hears of it: the ambiguous write).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface ReplicaProxy {
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  /** Bytes of the server's answers passed on to the clients so far. */
  bytesToClients(): number;
  /** Holds back everything the server sends from now on. */
  freeze(): void;
  /** Closes each connection when the server's answer begins, the next `n` times. */
  cutAnswers(n: number): void;
  kill(): Promise<void>;
}

export async function startReplicaProxy(target: string): Promise<ReplicaProxy> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  let accepted = 0;
  let frozen = false;
  let cuts = 0;
  let passed = 0;
  let killed = false;
  const server: Server = createServer((client) => {
    // A connection the kernel accepted while kill() ran would keep server.close() waiting for ever.
    if (killed) return void client.destroy();
    accepted++;
    const upstream = connect(Number(t.port), t.hostname);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (frozen) return;
      if (cuts > 0) {
        cuts--;
        client.destroy();
        upstream.destroy();
        return;
      }
      passed += chunk.length;
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `${t.protocol}//127.0.0.1:${port}`,
    connections: () => accepted,
    bytesToClients: () => passed,
    freeze: () => void (frozen = true),
    cutAnswers: (n) => void (cuts = n),
    async kill() {
      killed = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      sockets.clear();
      await closed;
    },
  };
}
