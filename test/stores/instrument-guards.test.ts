/**
 * The store entry points given no client at all (null, or undefined from a config path not taken):
 * the value is handed back untouched and the fault said once through diag, so the app starts as it
 * would without Baton; nothing throws into the host.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentNodeRedis } from '../../src/stores/node-redis.js';
import { instrumentPg } from '../../src/stores/pg.js';
import { instrumentRedis, RedisStateStore } from '../../src/stores/redis.js';

const warnings: string[] = [];

function listen(): void {
  warnings.length = 0;
  diag.setLogger({ warn: (m: string) => warnings.push(m), error: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
}

afterEach(() => {
  diag.disable();
});

describe.each([
  ['instrumentRedis', 'an ioredis Redis or Cluster', (v: unknown) => instrumentRedis(v as never)],
  ['instrumentNodeRedis', 'a node-redis client, pool, cluster or sentinel', (v: unknown) => instrumentNodeRedis(v as never)],
  ['instrumentPg', 'a pg Pool or Client', (v: unknown) => instrumentPg(v as never)],
])('%s given no client', (name, expected, instrument) => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['string', 'redis://localhost'],
  ])('hands %s back untouched and says so once through diag', (label, value) => {
    listen();
    expect(instrument(value)).toBe(value);
    expect(warnings).toEqual([`baton: ${name} needs ${expected}, got ${label}: nothing is traced`]);
  });
});

describe('RedisStateStore given no client', () => {
  it('constructs without throwing into the host at start-up, says so once, and its calls reject', async () => {
    listen();
    const store = new RedisStateStore(null as never);
    expect(warnings).toEqual(['baton: RedisStateStore needs an ioredis Redis or Cluster, got null: nothing is traced']);
    await expect(store.get('k')).rejects.toThrow();
  });
});
