import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that can lose one commit acknowledgement: armed, once the client
 * has sent a statement that writes the token ledger, the first server answer that says the work is
 * committed (ReadyForQuery with status Idle: after an autocommit statement, or after COMMIT) is not
 * passed on; the proxy cuts the connection instead. The write is durable; the client only sees a
 * broken connection — what a network failure or a server crash right after commit looks like.
 */
export interface PgProxy {
  url: string;
  /** Drops the next COMMIT acknowledgement; resolves once one was dropped. */
  loseNextCommitAck(): Promise<void>;
  /**
   * Withholds the next COMMIT acknowledgement and everything after it on that connection, keeping
   * the connection open: the write is durable, and the client waits for an answer that never comes
   * (until it is killed). Resolves once one was withheld.
   */
  holdNextCommitAck(): Promise<void>;
  /**
   * An outage: every open connection is cut and new ones are closed as soon as they arrive, until
   * `restore()`. To the client the database is unreachable.
   */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** ReadyForQuery ('Z'), length 5, status 'I' (idle: nothing left uncommitted). */
const READY_IDLE = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
/** What the flusher's transaction sends; other transactions (sign-ups, sweeps) pass untouched. */
const LEDGER_INSERT = Buffer.from('insert into token_ledger', 'latin1');

export async function startPgProxy(upstreamUrl: string): Promise<PgProxy> {
  const upstream = new URL(upstreamUrl);
  const sockets = new Set<Socket>();
  let armed: (() => void) | null = null;
  let holding: (() => void) | null = null;
  let down = false;

  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const backend = connect(Number(upstream.port || 5432), upstream.hostname);
    sockets.add(client).add(backend);
    let wroteLedger = false;
    let held = false;
    const cut = () => {
      client.destroy();
      backend.destroy();
    };
    client.on('data', (chunk) => {
      if (chunk.includes(LEDGER_INSERT)) wroteLedger = true;
      backend.write(chunk);
    });
    backend.on('data', (chunk) => {
      if (held) return;
      const commitAck = chunk.includes(READY_IDLE);
      if (commitAck && wroteLedger && holding) {
        const withheld = holding;
        holding = null;
        held = true;
        withheld();
        return;
      }
      if (commitAck && wroteLedger && armed) {
        const dropped = armed;
        armed = null;
        cut();
        dropped();
        return;
      }
      if (commitAck) wroteLedger = false;
      client.write(chunk);
    });
    for (const socket of [client, backend]) {
      socket.on('error', cut);
      socket.on('close', () => {
        sockets.delete(socket);
        cut();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = new URL(upstreamUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);

  return {
    url: url.toString(),
    loseNextCommitAck: () => new Promise<void>((resolve) => (armed = resolve)),
    holdNextCommitAck: () => new Promise<void>((resolve) => (holding = resolve)),
    cut: () => {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => {
      down = false;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
