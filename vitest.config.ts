import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * `baton-sdk` and its entry points, read from the sources as tsconfig.json's `paths` say (one
 * list, there): the CLI's code imports the SDK by its package name (one copy of its classes once
 * installed), and tests must run today's sources, not a build in node_modules/baton-sdk.
 */
const tsconfig = JSON.parse(readFileSync(new URL('tsconfig.json', import.meta.url), 'utf8')) as {
  compilerOptions: { paths: Record<string, [string]> };
};
const sdkAliases = Object.entries(tsconfig.compilerOptions.paths).map(([name, [file]]) => ({
  find: new RegExp(`^${name.replace('/', '\\/')}$`),
  replacement: fileURLToPath(new URL(file, import.meta.url)),
}));

// Under CI a JSON report is written too, so .ci/run can print one plain "N passed, N failed" line.
const ciReporters = process.env.CI ? [['json', { outputFile: '.ci-results/vitest.json' }] as const] : [];

export default defineConfig({
  resolve: { alias: sdkAliases },
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    reporters: ['default', ...ciReporters],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
