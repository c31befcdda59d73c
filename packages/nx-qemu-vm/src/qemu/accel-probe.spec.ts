// The KVM probe inside the run script, run for real on this host. Our CI
// machines have a /dev/kvm that hangs or aborts, which is exactly what the
// probe must survive without hanging.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/validate';
import { resolveMachine } from '../config/resolve';
import { readHostFacts } from '../host/host-facts';
import { renderRunScript } from './run-script';

it('probes KVM with a timeout, caches the answer, and honours VM_ACCEL', () => {
  const root = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-accel-'));
  try {
    const r = resolveMachine(
      'vm',
      1,
      validateConfig({ machines: { vm: { accel: 'auto' } } }).machines.vm,
      readHostFacts(),
    );
    const script = join(root, 'dist/vm/vm/bin/run-vm-vm');
    mkdirSync(join(root, 'dist/vm/vm/bin'), { recursive: true });
    // The script checks that it can read its initrd before anything starts.
    mkdirSync(join(root, 'dist/vm/vm/initrd'), { recursive: true });
    writeFileSync(join(root, 'dist/vm/vm/initrd/initrd.img'), 'initrd');
    writeFileSync(script, renderRunScript(r));
    chmodSync(script, 0o755);
    const cache = join(root, 'cache');
    const run = (env: Record<string, string> = {}) =>
      spawnSync(script, [], {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          HOME: root,
          XDG_CACHE_HOME: cache,
          TMPDIR: root,
          QEMU_OPTS: '-version',
          VM_ACCEL_PROBE_TIMEOUT: '4',
          ...env,
        },
      });

    const first = run();
    assert.equal(first.status, 0, first.stderr);
    const files = readdirSync(join(cache, 'nx-qemu-vm'));
    assert.equal(files.length, 1);
    const [key, answer] = readFileSync(join(cache, 'nx-qemu-vm', files[0]), 'utf8').split('\n');
    assert.match(
      key,
      /-accel kvm -cpu max .*-kernel \/boot\/vmlinuz-/,
      'the probe boots the real kernel with the real CPU model',
    );
    assert.ok(['kvm', 'tcg'].includes(answer), answer);

    // A cached answer is reused: a poisoned cache entry shows whether it was read.
    writeFileSync(join(cache, 'nx-qemu-vm', files[0]), `${key}\nnot-an-accelerator\n`);
    // QEMU rejects an unknown accelerator before it boots anything.
    const cached = run({ QEMU_OPTS: '' });
    assert.notEqual(cached.status, 0, 'QEMU must have been given the cached (bogus) accelerator');
    assert.match(cached.stderr, /not-an-accelerator/);

    const forced = run({ VM_ACCEL: 'forced-accelerator', QEMU_OPTS: '' });
    assert.notEqual(forced.status, 0);
    assert.match(forced.stderr, /forced-accelerator/, 'VM_ACCEL wins over the cache');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
