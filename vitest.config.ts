import { defineConfig } from 'vitest/config';

// Under CI a JSON report is written too, so .ci/run can print one plain "N passed, N failed" line.
const ciReporters = process.env.CI ? [['json', { outputFile: '.ci-results/vitest.json' }] as const] : [];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    reporters: ['default', ...ciReporters],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
