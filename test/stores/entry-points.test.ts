/**
 * The store adapters' packaging promise: `baton-sdk/redis`, `baton-sdk/node-redis` and
 * `baton-sdk/pg` are entry points of their own, their drivers optional peers, and no module of
 * src/stores loads a driver at run time (only its types), so an app that uses
 * neither installs neither and the main entry never pulls them in.
 */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);

describe('store entry points', () => {
  it('are exports of baton-sdk of their own, with ioredis, redis and pg as optional peer dependencies', async () => {
    const pkg = JSON.parse(await readFile(new URL('packages/sdk/package.json', ROOT), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
      dependencies: Record<string, string>;
    };
    expect(pkg.exports['./redis']).toEqual({ types: './dist/stores/redis.d.ts', default: './dist/stores/redis.js' });
    expect(pkg.exports['./pg']).toEqual({ types: './dist/stores/pg.d.ts', default: './dist/stores/pg.js' });
    expect(pkg.exports['./node-redis']).toEqual({ types: './dist/stores/node-redis.d.ts', default: './dist/stores/node-redis.js' });
    for (const driver of ['ioredis', 'pg', 'redis']) {
      expect(pkg.peerDependencies[driver]).toBeDefined();
      expect(pkg.peerDependenciesMeta[driver]?.optional).toBe(true);
      expect(pkg.dependencies[driver]).toBeUndefined();
    }
  });

  it('import their drivers for types only, and the main entry imports no store', async () => {
    const dir = new URL('src/stores/', ROOT);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    expect(files).toEqual(expect.arrayContaining(['redis.ts', 'node-redis.ts', 'pg.ts']));
    for (const file of files) {
      const source = await readFile(new URL(file, dir), 'utf8');
      const driverImports = [...source.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'(ioredis|pg|redis|@redis\/[^']+)'/gm)];
      for (const match of driverImports) expect(match[1], `${file} imports ${match[2]} at run time`).toBe('type ');
      expect(source).not.toMatch(/\brequire\(\s*'(ioredis|pg|redis)'\s*\)|import\(\s*'(ioredis|pg|redis)'\s*\)/);
    }
    const index = await readFile(new URL('src/index.ts', ROOT), 'utf8');
    expect(index).not.toMatch(/stores\//);
  });
});
