/**
 * A TCP proxy on 127.0.0.1:0 in front of a PostgreSQL server that can lose the
 * reply to a COMMIT: once armed, it forwards the next simple-protocol `COMMIT`
 * to the server (which commits) and, when the server answers, destroys both
 * sockets instead of forwarding the answer. The client sees its connection drop
 * with the transaction committed: the failure after which a blind retry writes
 * twice.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface CuttingProxy {
  readonly port: number;
  /** Cut the reply to the next COMMIT sent through the proxy. */
  armCommitCut(): void;
  /** How many COMMIT replies were cut. */
  readonly cuts: number;
  close(): Promise<void>;
}

/** `Q` message (simple query) whose text is COMMIT, in a chunk from the client. */
function isCommit(chunk: Buffer): boolean {
  for (let i = chunk.indexOf(0x51); i >= 0 && i + 5 < chunk.length; i = chunk.indexOf(0x51, i + 1)) {
    const length = chunk.readUInt32BE(i + 1);
    const text = chunk.subarray(i + 5, i + 1 + length - 1).toString('utf8');
    if (/^\s*COMMIT\s*;?\s*$/i.test(text)) return true;
  }
  return false;
}

export async function startCuttingProxy(target: { host: string; port: number }): Promise<CuttingProxy> {
  let armed = false;
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    let cutNextReply = false;
    client.on('data', (chunk: Buffer) => {
      if (armed && isCommit(chunk)) {
        armed = false;
        cutNextReply = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (cutNextReply) {
        cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('proxy has no port');
  return {
    port: address.port,
    armCommitCut: () => {
      armed = true;
    },
    get cuts() {
      return cuts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
