/**
 * The CLI's version, read from its own package.json (the nearest one above this
 * file: the repository root from source, the package root once built into
 * dist/cli/), so a release bump never leaves a stale constant behind.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { name: string; version: string } | undefined;

/** `{ name, version }` of the package this CLI ships in. */
export function cliPackage(): { name: string; version: string } {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (typeof manifest.name === 'string' && typeof manifest.version === 'string') {
        cached = { name: manifest.name, version: manifest.version };
        return cached;
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above the baton CLI');
    dir = parent;
  }
}
