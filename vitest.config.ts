import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'tools/*/src/**/*.test.ts'],
    // Two cores: forks keep servers under test isolated without oversubscribing the machine.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
