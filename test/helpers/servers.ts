/**
 * Private Redis and PostgreSQL servers for the store tests: each started on a
 * free loopback port with its data in a fresh temp dir, stopped and deleted by
 * `stop()`. PostgreSQL refuses to run as root, so under root it runs as the
 * `postgres` user (else `nobody`) through spawn's uid/gid.
 *
 * Redis Sentinel and Cluster are made of such servers (startRedisSentinel,
 * startRedisCluster).
 *
 * When a server binary is missing, `serverSkipReason()` says how to install it:
 * tests skip with that message locally and fail with it under CI.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const INSTALL_HINT = 'install them with: apt-get install redis-server postgresql (Debian/Ubuntu), as .ci/run does';

function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Why the store tests cannot run here (a server is missing), or undefined. */
export function serverSkipReason(): string | undefined {
  const missing: string[] = [];
  if (!hasCommand('redis-server')) missing.push('redis-server');
  if (!findPostgresBin()) missing.push('postgresql (/usr/lib/postgresql/*/bin/postgres)');
  if (missing.length === 0) return undefined;
  return `store tests need ${missing.join(' and ')}; ${INSTALL_HINT}`;
}

/** True when the store tests must skip (servers missing, not under CI). Under CI a missing server fails the suite. */
export function shouldSkipStoreTests(): boolean {
  const reason = serverSkipReason();
  if (reason === undefined) return false;
  if (process.env.CI) throw new Error(reason);
  console.warn(`skipped: ${reason}`);
  return true;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`${what} did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) done();
    };
    const onExit = (code: number | null) => fail(new Error(`${what} exited (${code}) before it was ready:\n${output}`));
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    const done = () => {
      cleanup();
      resolve();
    };
    const fail = (error: Error) => {
      cleanup();
      reject(error);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export interface RunningServer {
  readonly port: number;
  readonly host: '127.0.0.1';
  stop(): Promise<void>;
}

/** A redis-server on a free loopback port, no persistence, data in a temp dir; `args` are more of its options. */
export async function startRedis(args: readonly string[] = []): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-redis-'));
  return spawnRedisServer(
    dir,
    (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes', ...args],
    /Ready to accept connections/,
    'redis-server',
  );
}

/**
 * A Redis Sentinel (`redis-server <config> --sentinel`) on a free loopback port,
 * monitoring `master` as `name` with a quorum of 1, so that it alone can fail
 * the master over. Sentinel rewrites its config file, so each gets its own in a
 * temp dir. Ready once it has logged `+monitor` for the master.
 */
export async function startRedisSentinel(master: RunningServer, name = 'mymaster'): Promise<RunningServer> {
  const dir = await mkdtemp(join(tmpdir(), 'baton-sentinel-'));
  const config = join(dir, 'sentinel.conf');
  return spawnRedisServer(
    dir,
    (port) => {
      writeFileSync(
        config,
        [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} ${master.host} ${master.port} 1`, `sentinel down-after-milliseconds ${name} 1000`, ''].join('\n'),
      );
      return [config, '--sentinel'];
    },
    /\+monitor master/,
    'redis-sentinel',
  );
}

/** Starts `redis-server` with the arguments `argsFor(port)` on a free port (another one if it was taken meanwhile); `stop()` also deletes `dir`. */
async function spawnRedisServer(dir: string, argsFor: (port: number) => string[], ready: RegExp, what: string): Promise<RunningServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn('redis-server', argsFor(port), { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await waitForLine(child, ready, `${what} on port ${port}`);
    } catch (error) {
      await stopChild(child, 'SIGKILL');
      if (attempt < 3 && /Address already in use/.test(String(error))) continue;
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return {
      port,
      host: '127.0.0.1',
      stop: async () => {
        await stopChild(child, 'SIGTERM');
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

export interface RunningCluster {
  /** The masters, each serving an equal share of the 16384 hash slots, in slot order. */
  readonly nodes: readonly RunningServer[];
  stop(): Promise<void>;
}

function redisCli(port: number, ...args: string[]): string {
  const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
  if (result.status !== 0 || /^(ERR|\(error\))/.test(result.stdout)) {
    throw new Error(`redis-cli -p ${port} ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

/**
 * A Redis Cluster of `masters` masters (no replicas) on free loopback ports,
 * made by hand rather than with `redis-cli --cluster create`, which waits in
 * whole seconds: each node gets its slot range (CLUSTER ADDSLOTSRANGE), the first
 * meets the others (CLUSTER MEET), and the cluster is ready once every node
 * reports `cluster_state:ok` and knows all the others (about 1 s here). Each
 * node's cluster bus gets a free port of its own (`--cluster-port`), since the
 * default, port + 10000, can be taken or past 65535.
 */
export async function startRedisCluster(masters = 3): Promise<RunningCluster> {
  // A bus port picked free can be taken by another server starting meanwhile (the main ports are picked
  // the same way, at the same time): the whole cluster is then started again on fresh ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisClusterOnce(masters);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

async function startRedisClusterOnce(masters: number): Promise<RunningCluster> {
  const nodes: RunningServer[] = [];
  const busPorts: number[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) busPorts.push(await freePort());
    // Started side by side: a clash of two ports picked at once is retried by startRedis.
    const started = await Promise.allSettled(
      busPorts.map((busPort) => startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort)])),
    );
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const share = Math.ceil(16384 / masters);
    nodes.forEach((node, i) => redisCli(node.port, 'CLUSTER', 'ADDSLOTSRANGE', String(i * share), String(Math.min(16383, (i + 1) * share - 1))));
    // MEET names the bus port too: without it, port + 10000 is assumed.
    for (let i = 1; i < masters; i++) redisCli(nodes[0]!.port, 'CLUSTER', 'MEET', '127.0.0.1', String(nodes[i]!.port), String(busPorts[i]));
    const meetAt = Date.now();
    for (;;) {
      const ready = nodes.every((node) => {
        const info = redisCli(node.port, 'CLUSTER', 'INFO');
        return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`);
      });
      if (ready) break;
      if (Date.now() - meetAt > 20_000) throw new Error(`redis cluster on ports ${nodes.map((n) => n.port).join(', ')} not ready within 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, stop };
}

/** The node id of a cluster node (CLUSTER MYID). */
function nodeIdOf(node: RunningServer): string {
  return redisCli(node.port, 'CLUSTER', 'MYID').trim();
}

/**
 * Moves hash slot `slot` from master `from` to master `to` (indexes into
 * `cluster.nodes`) the way `redis-cli --cluster reshard` does: the target
 * IMPORTING, the source MIGRATING, the slot's keys MIGRATEd, then the slot
 * assigned to the target on every master (CLUSTER SETSLOT … NODE). With
 * `stage: 'migrating'` it stops before that assignment: the source still owns
 * the slot and answers ASK for keys it no longer holds, until
 * {@link finishSlotMigration}. A client that cached the old owner gets MOVED
 * from the source once the slot is assigned.
 * @see https://redis.io/docs/latest/commands/cluster-setslot/
 */
export function migrateSlot(cluster: RunningCluster, slot: number, from: number, to: number, stage: 'migrating' | 'done' = 'done'): void {
  const source = cluster.nodes[from]!;
  const target = cluster.nodes[to]!;
  redisCli(target.port, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', nodeIdOf(source));
  redisCli(source.port, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', nodeIdOf(target));
  const keys = redisCli(source.port, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '1000')
    .split('\n')
    .filter((line) => line.length > 0);
  if (keys.length > 0) redisCli(source.port, 'MIGRATE', target.host, String(target.port), '', '0', '5000', 'KEYS', ...keys);
  if (stage === 'done') finishSlotMigration(cluster, slot, to);
}

/** Assigns `slot` to master `to` on every master: the end of a {@link migrateSlot} left at `migrating`. */
export function finishSlotMigration(cluster: RunningCluster, slot: number, to: number): void {
  const owner = nodeIdOf(cluster.nodes[to]!);
  // The new owner first, as redis-cli does: it then answers for the slot before the old one redirects.
  redisCli(cluster.nodes[to]!.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', owner);
  cluster.nodes.forEach((node, i) => {
    if (i !== to) redisCli(node.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', owner);
  });
}

/** How many `kind` errors (MOVED, ASK, …) a node has answered since it started (INFO errorstats). */
export function redirectionsAnswered(node: RunningServer, kind: 'MOVED' | 'ASK'): number {
  const match = new RegExp(`errorstat_${kind}:count=(\\d+)`).exec(redisCli(node.port, 'INFO', 'errorstats'));
  return match ? Number(match[1]) : 0;
}

function idOf(user: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export interface RunningPostgres extends RunningServer {
  /** Connection settings for pg's Client/Pool: user `baton`, database `postgres`, trust auth on loopback. */
  readonly connection: { host: string; port: number; user: string; database: string };
}

/** A PostgreSQL cluster initialized in a temp dir, on a free loopback port, fsync off (test data only). */
export async function startPostgres(): Promise<RunningPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(serverSkipReason());
  const dir = await mkdtemp(join(tmpdir(), 'baton-pg-'));
  const data = join(dir, 'data');
  const asUser = process.getuid?.() === 0 ? (idOf('postgres') ?? idOf('nobody')) : undefined;
  if (asUser) {
    await chown(dir, asUser.uid, asUser.gid);
    await chmod(dir, 0o700);
  }
  const ids = asUser ? { uid: asUser.uid, gid: asUser.gid } : {};
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'baton', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--no-instructions'], {
    encoding: 'utf8',
    cwd: dir,
    ...ids,
  });
  if (init.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr}`);
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      join(bin, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...ids },
    );
    try {
      await waitForLine(child, /database system is ready to accept connections/, `postgres on port ${port}`);
    } catch (error) {
      await stopChild(child, 'SIGKILL');
      if (attempt < 3 && /already in use/.test(String(error))) continue;
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return {
      port,
      host: '127.0.0.1',
      connection: { host: '127.0.0.1', port, user: 'baton', database: 'postgres' },
      stop: async () => {
        // SIGTERM first (smart shutdown: waits for sessions to end). pg's Pool.end() resolves before its
        // clients' sockets have closed, and a fast shutdown would send those clients a FATAL they emit as
        // an unhandled 'error'. Past 3 s, SIGINT (fast shutdown) ends whatever is still connected.
        const smart = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 3000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        child.kill('SIGTERM');
        if (!(await smart)) await stopChild(child, 'SIGINT');
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
