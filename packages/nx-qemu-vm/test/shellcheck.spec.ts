// Every shell program we generate, for every golden machine, passes
// shellcheck as POSIX sh: the run scripts as the golden files hold them, and
// stage 1, stage 2 and the services program as they are rendered, and the
// test API's snapshot commands. A lint of
// generated output, so `npm test` runs it and the unit lane does not: it
// takes shellcheck half a minute.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listGoldenCases, outputFilesOnDisk, resolveCase } from './helpers/golden-cases';
import { TEST_STAGE1_MODULES } from './helpers/resolved-machine';
import { renderStage1 } from '../src/guest/stage1';
import { renderStage2 } from '../src/guest/stage2';
import { renderServicesProgram } from '../src/guest/services';
import { inUseCommand, swapInstallsCommand } from '../src/test-driver/snapshot-commands';

const cases = listGoldenCases();
const NOT_INSTALLED =
  'shellcheck is not installed (apt-get install shellcheck); CI installs it, so this runs there';

/** shellcheck -s sh on the files; undefined when shellcheck is missing. */
function shellcheck(files: string[]): { status: number | null; output: string } | undefined {
  const res = spawnSync('shellcheck', ['-s', 'sh', '-f', 'gcc', ...files], { encoding: 'utf8' });
  if (res.error && 'code' in res.error && res.error.code === 'ENOENT') return undefined;
  return { status: res.status, output: res.stdout + res.stderr };
}

describe('generated shell programs pass shellcheck', { concurrency: true }, () => {
  it('every golden run script', (t) => {
    const scripts = cases.flatMap((c) =>
      outputFilesOnDisk(c)
        .filter((f) => f.startsWith('run-'))
        .map((f) => join(c.dir, f)),
    );
    assert.ok(scripts.length > 0, 'no run scripts found');
    const res = shellcheck(scripts);
    if (!res) return t.skip(NOT_INSTALLED);
    assert.equal(res.status, 0, `shellcheck found problems:\n${res.output}`);
  });

  it("every golden machine's stage 1, stage 2 and services program", (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'nxqv-stages-'));
    try {
      const files: string[] = [];
      const modules = TEST_STAGE1_MODULES;
      for (const c of cases)
        for (const r of Object.values(resolveCase(c))) {
          for (const [stage, text] of [
            ['1', renderStage1(r, modules)],
            ['2', renderStage2(r)],
            ...(r.services.length ? [['services', renderServicesProgram(r) ?? '']] : []),
          ]) {
            const file = join(dir, `${c.name}-${r.name}-stage${stage}.sh`);
            writeFileSync(file, text);
            files.push(file);
          }
        }
      const res = shellcheck(files);
      if (!res) return t.skip(NOT_INSTALLED);
      assert.equal(res.status, 0, res.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the test API's snapshot commands, as the agent gets them", (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'nxqv-snapshot-'));
    try {
      const file = join(dir, 'in-use.sh');
      writeFileSync(file, inUseCommand(['/tmp/shared', "/srv/it's"]));
      const swap = join(dir, 'swap.sh');
      writeFileSync(swap, swapInstallsCommand(['/opt/api', "/srv/it's"], ['api.service']));
      const res = shellcheck([file, swap]);
      if (!res) return t.skip(NOT_INSTALLED);
      assert.equal(res.status, 0, res.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
