// Lint rules, including the one-way dependency rule of ARCHITECTURE.md: core imports nothing of ours,
// hsm and db import only core, sdk imports nothing of ours, server composes them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ours = (dirs) => dirs.flatMap((d) => [`../${d}/*`, `../../${d}/*`, `../../../${d}/*`, `../${d}/**`, `../../${d}/**`]);
const restrict = (files, dirs, extra = []) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: [...ours(dirs), ...extra], message: 'Imports flow one way: see ARCHITECTURE.md.' }] }],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'sdk/dist/**', 'node_modules/**', 'db/migrations/**', 'coverage/**', '.coffer/**', 'console/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  restrict(['core/**/*.ts'], ['hsm', 'db', 'server', 'sdk', 'scripts', 'test'], ['hono', 'hono/*', 'drizzle-orm', 'drizzle-orm/*', 'pkcs11js', 'graphene-pk11', 'postgres', '@electric-sql/*', 'node:fs', 'node:net', 'node:http']),
  restrict(['hsm/**/*.ts'], ['db', 'server', 'sdk', 'scripts', 'test']),
  restrict(['db/**/*.ts'], ['hsm', 'server', 'sdk', 'scripts', 'test']),
  restrict(['sdk/**/*.ts'], ['core', 'hsm', 'db', 'server', 'scripts', 'test']),
  restrict(['server/**/*.ts'], ['scripts', 'test']),
  // The web console reaches the server only through the wire protocol, and runs in a browser (no node: modules).
  restrict(['console/src/**/*.ts'], ['core', 'hsm', 'db', 'server', 'sdk', 'scripts', 'test'], ['node:*']),
);
