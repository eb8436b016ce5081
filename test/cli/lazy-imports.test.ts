/**
 * `baton audit` never loads Ink, React or the dashboards: the modules it can
 * reach (every import of cli/commands/audit.ts, static or lazy, followed
 * through the repository's own files; only the static imports of cli/main.ts,
 * whose lazy ones load the chosen command) include none of them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const IMPORT = /(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
const STATIC = /(?:import|export)\s[^'"]*?from\s+'([^']+)'/g;

function reachable(entry: string, first: RegExp): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string, pattern: RegExp) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(pattern)) {
      const spec = match[1] ?? match[2]!;
      if (!spec.startsWith('.')) {
        packages.add(spec);
        continue;
      }
      const target = join(dirname(file), spec).replace(/\.js$/, '');
      for (const ext of ['.ts', '.tsx', '.json', '']) {
        try {
          if (ext === '.json' || target.endsWith('.json')) break;
          readFileSync(target + ext);
          visit(target + ext, IMPORT);
          break;
        } catch {
          // Try the next extension.
        }
      }
    }
  };
  visit(entry, first);
  return new Set([...[...seen].map((f) => relative(ROOT, f)), ...packages]);
}

describe('baton audit', () => {
  it('reaches no Ink, React or dashboards module', () => {
    const modules = [...reachable(join(ROOT, 'cli/commands/audit.ts'), IMPORT), ...reachable(join(ROOT, 'cli/main.ts'), STATIC)];
    expect(modules.length).toBeGreaterThan(10);
    expect(modules.filter((m) => m === 'ink' || m === 'react' || m.startsWith('dashboards/') || m.includes('receiver'))).toEqual([]);
  });

  it('while baton watch does reach them (the check can fail)', () => {
    const modules = [...reachable(join(ROOT, 'cli/commands/watch.ts'), IMPORT)];
    expect(modules).toContain('ink');
    expect(modules.some((m) => m.startsWith('dashboards/'))).toBe(true);
  });
});
