// QEMU accepts every golden command line. Golden tests compare text; this
// proves the text means something to the real QEMU on this host: for each
// machine of each golden case it renders the run script against the real host
// (real kernel, firmware and paths; see test/helpers/real-workspace.ts), runs
// it with `-S` (paused before the guest's first instruction) and a QMP socket,
// checks the status and quits. Always under TCG: VM_ACCEL=tcg, and a config's
// `accel: "kvm"` is rewritten to "tcg" because KVM is broken on our hosts.
// Cases with host port forwards need their ports (47xxx) free on 127.0.0.1.
//
// A guest architecture whose QEMU binary is missing fails: CI installs
// qemu-system-x86 and qemu-system-arm. To skip one locally, list it, e.g.
//   NX_QEMU_VM_SKIP_ARCH=aarch64-linux npm test -- qemu-accepts
// Set NX_QEMU_VM_KEEP_TMP=1 to keep each case's temp workspace for inspection.
import assert from 'node:assert/strict';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { type TestContext, describe, test } from 'node:test';
import { type GoldenCase, listGoldenCases, resolveCase } from '../helpers/golden-cases';
import { launchPausedAndQuit } from '../helpers/launch-paused';
import { prepareRealWorkspace } from '../helpers/real-workspace';

const SKIP_ARCH = (process.env.NX_QEMU_VM_SKIP_ARCH ?? '').split(/[\s,]+/).filter(Boolean);
const KEEP_TMP = !!process.env.NX_QEMU_VM_KEEP_TMP;
/** Start-up under -S takes well under a second; the slack is for a loaded CI machine. */
const STEP_TIMEOUT_MS = 20_000;
// Paused QEMUs barely use CPU once started, but their start-up does; two per core keeps the total short.
const CONCURRENCY = Math.max(2, Math.min(6, 2 * availableParallelism()));
/**
 * The workspace dir name has a space and a comma so that every case checks the
 * run script's shell quoting and its QEMU comma escaping of run-time paths.
 */
const WS_NAME = 'w s,1';

function onPath(binary: string): boolean {
  const candidates = isAbsolute(binary)
    ? [binary]
    : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, binary));
  return candidates.some((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function checkCase(c: GoldenCase, t: TestContext): Promise<void> {
  // The binary depends only on the config, so the fake-host resolution tells us early.
  const machines = Object.values(resolveCase(c));
  const missing = machines.filter((r) => !onPath(r.qemu.binary));
  const unexpectedlyMissing = missing.filter((r) => !SKIP_ARCH.includes(r.arch));
  assert.deepEqual(
    unexpectedlyMissing.map(
      (r) => `${r.name}: ${r.qemu.binary} not found (apt-get install ${r.qemu.debianPackage})`,
    ),
    [],
    `QEMU is missing for some machines; install it, or skip the arch with NX_QEMU_VM_SKIP_ARCH=${unexpectedlyMissing.map((r) => r.arch).join(',')}`,
  );
  if (missing.length === machines.length) {
    t.skip(
      `NX_QEMU_VM_SKIP_ARCH skips ${[...new Set(missing.map((r) => r.arch))].join(', ')} and its QEMU is not installed`,
    );
    return;
  }

  // mkdtemp in /tmp keeps socket paths short (unix sockets allow 107 bytes).
  const tmp = mkdtempSync('/tmp/nqv-');
  // A failing subtest does not throw here, so failures are counted by hand.
  let failures = 0;
  try {
    const real = prepareRealWorkspace(c, tmp, WS_NAME);
    for (const r of real.machines) {
      await t.test(r.name, async (mt) => {
        if (missing.some((m) => m.name === r.name)) {
          mt.skip(`NX_QEMU_VM_SKIP_ARCH lists ${r.arch} and ${r.qemu.binary} is not installed`);
          return;
        }
        failures++;
        const run = await launchPausedAndQuit(real.scripts[r.name], {
          ws: real.ws,
          tmp: join(tmp, r.name),
          socket: join(tmp, `${r.index}.qmp`),
          stepTimeoutMs: STEP_TIMEOUT_MS,
        }).catch((err: Error) => {
          const rewrites = real.rewrites.length
            ? `\nconfig rewritten for this host:\n  ${real.rewrites.join('\n  ')}`
            : '';
          throw new Error(`${c.name}/${r.name}: ${err.message}\nworkspace: ${real.ws}${rewrites}`);
        });
        assert.ok(
          ['prelaunch', 'paused'].includes(run.status),
          `QEMU status is ${run.status}, want prelaunch or paused\n${run.stderr}`,
        );
        assert.equal(
          run.exitCode,
          0,
          `QEMU exited with ${run.exitCode} (signal ${run.signal}) after quit:\n${run.stderr}`,
        );
        failures--;
      });
    }
  } catch (err) {
    failures++;
    throw err;
  } finally {
    if (KEEP_TMP) t.diagnostic(`temp workspace kept: ${tmp}`);
    else {
      rmSync(tmp, { recursive: true, force: true });
      if (failures > 0)
        t.diagnostic('set NX_QEMU_VM_KEEP_TMP=1 to keep the temp workspace for inspection');
    }
  }
}

describe('QEMU accepts every golden command line', { concurrency: CONCURRENCY }, () => {
  for (const c of listGoldenCases())
    test(c.name, { timeout: 4 * STEP_TIMEOUT_MS * Object.keys(c.raw.machines).length }, (t) =>
      checkCase(c, t),
    );
});
