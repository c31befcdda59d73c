// The README's CI recipe against the scripts it runs: the workflow parses,
// its steps run the package's ci/ scripts with the arguments the
// unprivileged e2e suite runs them with, and what the prose says of the
// scripts is what they do. The scripts themselves run in
// test/e2e/unprivileged.spec.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const PACKAGE = join(__dirname, '..');
const CI_DIR = join(PACKAGE, 'ci');
const README = readFileSync(join(PACKAGE, 'README.md'), 'utf8');
const scripts = readdirSync(CI_DIR).filter((f) => f.endsWith('.sh'));

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  if?: string;
  with?: Record<string, string>;
}

function workflow() {
  const section = README.slice(README.indexOf('## In CI'));
  const block = section.match(/```yaml\n([\s\S]*?)```/);
  assert.ok(block, 'the In CI section has a yaml block');
  return parse(block[1]);
}

describe("the README's CI recipe", () => {
  const job = workflow().jobs.e2e;
  const steps: Step[] = job.steps;
  const runs = steps.flatMap((s) => (s.run ?? '').split('\n')).filter(Boolean);

  it('deals the shards of a matrix numbered from 1, one run-shard.sh each, as the shell itself', () => {
    const shards: number[] = job.strategy.matrix.shard;
    assert.deepEqual(
      shards,
      shards.map((_, i) => i + 1),
    );
    assert.equal(job.strategy['fail-fast'], false, 'one failing shard does not cancel the others');
    assert.ok(
      runs.includes(
        'exec node_modules/nx-qemu-vm/ci/run-shard.sh ${{ matrix.shard }} ${{ strategy.job-total }}',
      ),
      runs.join('\n'),
    );
  });

  it('runs only scripts the package ships, and every script is run', () => {
    const named = runs.flatMap((r) => [
      ...r.matchAll(/node_modules\/nx-qemu-vm\/ci\/([\w-]+\.sh)/g),
    ]);
    for (const [, file] of named) assert.ok(scripts.includes(file), `ci/${file} exists`);
    const runShard = readFileSync(join(CI_DIR, 'run-shard.sh'), 'utf8');
    for (const file of scripts)
      assert.ok(
        named.some(([, f]) => f === file) || runShard.includes(`"$here/${file}"`),
        `ci/${file} is run by the recipe`,
      );
  });

  it('runs Nx itself, never through npx (which keeps a SIGTERM from Nx)', () => {
    const code = (f: string) => readFileSync(join(CI_DIR, f), 'utf8').replace(/^\s*#.*$/gm, '');
    for (const text of [...runs, ...scripts.map(code)]) assert.doesNotMatch(text, /\bnpx\b/, text);
  });

  it('uploads the test artifacts of failed runs', () => {
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    assert.ok(upload, 'an upload step');
    assert.equal(upload.if, 'failure()');
    assert.equal(upload.with?.path, 'dist/vm/*/test-artifacts/');
  });

  it('installs only host packages that Requirements names', () => {
    const requirements = README.slice(
      README.indexOf('## Requirements'),
      README.indexOf('## Add it'),
    );
    const install = runs.find((r) => r.includes('apt-get install'));
    assert.ok(install);
    const packages = install
      .split(/\s+/)
      .slice(install.split(/\s+/).indexOf('--no-install-recommends') + 1);
    assert.ok(packages.length > 5, install);
    for (const p of packages) assert.match(requirements, new RegExp(`\`[^\`]*\\b${p}\\b`), p);
  });

  it('shows the udev rule that setup-kvm.sh writes', () => {
    const rule = readFileSync(join(CI_DIR, 'setup-kvm.sh'), 'utf8').match(/^echo '(.*)' >/m)?.[1];
    assert.ok(rule);
    assert.match(README, new RegExp(`^\\s*${rule.replace(/[+()]/g, '\\$&')}$`, 'm'), rule);
  });

  it('has scripts that pass shellcheck', (t) => {
    const res = spawnSync('shellcheck', ['-s', 'sh', ...scripts], {
      cwd: CI_DIR,
      encoding: 'utf8',
    });
    if (res.error) return t.skip('shellcheck is not installed (apt-get install shellcheck)');
    assert.equal(res.status, 0, res.stdout + res.stderr);
  });
});
