// The repository's own habits, run by `npm test` (and so by CI): everything
// type-checks, tests included; ESLint finds nothing; Prettier changes nothing.
import { describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..');

/** Runs a tool of node_modules and fails with its output unless it exits 0. */
function check(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(root, 'node_modules', bin), ...args],
      { cwd: root, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`${bin} ${args.join(' ')} failed:\n${stdout}${stderr}`))
          : resolve(),
    );
  });
}

describe('repository checks', { concurrency: true }, () => {
  it('type-checks sources, tests, tools and benchmarks (npm run typecheck)', () =>
    check('typescript/bin/tsc', ['-p', 'tsconfig.json']));
  it('passes ESLint (npm run lint)', () => check('eslint/bin/eslint.js', ['.']));
  it('is formatted with Prettier (npm run format)', () =>
    check('prettier/bin/prettier.cjs', ['--check', '.']));
});
