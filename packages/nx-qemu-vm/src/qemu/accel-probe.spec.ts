// The accelerator choice inside the run script, run for real on this host:
// the probe, its cache, and the one line that says which accelerator a run
// uses and why. Our CI machines have a /dev/kvm that hangs or aborts, which
// is exactly what the probe must survive without hanging; the other reasons
// are made real with another account and another /dev.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { validateConfig } from '../config/validate';
import { resolveMachine } from '../config/resolve';
import { readHostFacts } from '../host/host-facts';
import { renderRunScript } from './run-script';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** A workspace with one machine's run script, and a way to run it with QEMU that only prints its version. */
function workspace(machine: Record<string, unknown>, owner?: number) {
  const root = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-accel-'));
  const r = resolveMachine(
    'vm',
    1,
    validateConfig({ machines: { vm: machine } }).machines.vm,
    readHostFacts(),
  );
  const script = join(root, 'dist/vm/vm/bin/run-vm-vm');
  mkdirSync(join(root, 'dist/vm/vm/bin'), { recursive: true });
  // The script checks that it can read its kernel and initrd before anything starts.
  mkdirSync(join(root, 'dist/vm/vm/initrd'), { recursive: true });
  writeFileSync(join(root, 'dist/vm/vm/initrd/initrd.img'), 'initrd');
  // A declared system's kernel and store are the image target's outputs, in the workspace.
  for (const file of r.system.from === 'debian' ? [r.kernel.image, r.system.image.store] : []) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), 'placeholder');
  }
  writeFileSync(script, renderRunScript(r));
  chmodSync(script, 0o755);
  if (owner !== undefined) {
    const own = (p: string) => {
      chownSync(p, owner, owner);
      for (const e of readdirSync(p, { withFileTypes: true }))
        if (e.isDirectory()) own(join(p, e.name));
        else chownSync(join(p, e.name), owner, owner);
    };
    own(root);
  }
  const cache = join(root, 'cache');
  const run = (env: Record<string, string> = {}, wrap: string[] = []) => {
    const [cmd, ...args] = [...wrap, script];
    return spawnSync(cmd, args, {
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
  };
  return { root, cache, run, done: () => rmSync(root, { recursive: true, force: true }) };
}

/** The run's one line about its accelerator. */
function accelLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('run-vm-vm: accelerator: '));
  assert.equal(lines.length, 1, `one accelerator line in:\n${stderr}`);
  return lines[0];
}

it('probes KVM with a timeout, caches the answer and why, says it, and honours VM_ACCEL', () => {
  const ws = workspace({ accel: 'auto' });
  try {
    const first = ws.run();
    assert.equal(first.status, 0, first.stderr);
    const files = readdirSync(join(ws.cache, 'nx-qemu-vm'));
    assert.equal(files.length, 1);
    const [key, answer, why] = readFileSync(join(ws.cache, 'nx-qemu-vm', files[0]), 'utf8').split(
      '\n',
    );
    assert.match(
      key,
      /-accel kvm -cpu max .*-kernel \/boot\/vmlinuz-/,
      'the probe boots the real kernel with the real CPU model',
    );
    // This host's KVM either boots the kernel or it does not: each answer has its own line.
    if (answer === 'kvm') {
      assert.equal(why, 'works');
      assert.equal(accelLine(first.stderr), 'run-vm-vm: accelerator: KVM');
    } else {
      assert.deepEqual([answer, why], ['tcg', 'broken']);
      assert.match(
        accelLine(first.stderr),
        /^run-vm-vm: accelerator: TCG \(software emulation, many times slower than KVM\): \/dev\/kvm is there, but KVM did not boot this machine's kernel within 4 s \(nested virtualisation that hangs, or a CPU model KVM refuses\); this answer is kept until the host reboots, in \/.*\/nx-qemu-vm\/accel-\d+$/,
      );
    }

    // A cached answer is reused: a poisoned cache entry shows whether it was read.
    writeFileSync(join(ws.cache, 'nx-qemu-vm', files[0]), `${key}\nnot-an-accelerator\nworks\n`);
    // QEMU rejects an unknown accelerator before it boots anything.
    const cached = ws.run({ QEMU_OPTS: '' });
    assert.notEqual(cached.status, 0, 'QEMU must have been given the cached (bogus) accelerator');
    assert.match(cached.stderr, /not-an-accelerator/);
    assert.equal(accelLine(cached.stderr), 'run-vm-vm: accelerator: not-an-accelerator');

    const forced = ws.run({ VM_ACCEL: 'tcg' });
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(
      accelLine(forced.stderr),
      'run-vm-vm: accelerator: TCG (software emulation, many times slower than KVM): VM_ACCEL is set',
      'VM_ACCEL wins over the cache',
    );
  } finally {
    ws.done();
  }
});

it('says a fixed accelerator comes from workspace-vm.json, and does not probe', () => {
  const ws = workspace({ accel: 'tcg' });
  try {
    const res = ws.run();
    assert.equal(res.status, 0, res.stderr);
    assert.equal(
      accelLine(res.stderr),
      'run-vm-vm: accelerator: TCG (software emulation, many times slower than KVM): accel is "tcg" in workspace-vm.json',
    );
    assert.throws(() => readdirSync(join(ws.cache, 'nx-qemu-vm')), /ENOENT/, 'no probe ran');
  } finally {
    ws.done();
  }
});

it("says KVM cannot run another architecture's guests, without probing", () => {
  const ws = workspace({ arch: 'aarch64-linux', system: { from: 'debian' } });
  try {
    const res = ws.run();
    assert.equal(res.status, 0, res.stderr);
    assert.match(
      accelLine(res.stderr),
      /^run-vm-vm: accelerator: TCG \(software emulation, many times slower than KVM\): KVM runs guests of this host's own architecture \(x86_64\) only$/,
    );
    assert.throws(() => readdirSync(join(ws.cache, 'nx-qemu-vm')), /ENOENT/, 'no probe ran');
  } finally {
    ws.done();
  }
});

it(
  'says how to get /dev/kvm when the account may not use it',
  { skip: !isRoot && 'needs root, to run the script as an account outside the kvm group' },
  () => {
    const ws = workspace({ accel: 'auto' }, NOBODY);
    try {
      const res = ws.run({}, [
        'setpriv',
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        '--clear-groups',
      ]);
      assert.equal(res.status, 0, res.stderr);
      assert.equal(
        accelLine(res.stderr),
        'run-vm-vm: accelerator: TCG (software emulation, many times slower than KVM): /dev/kvm is not readable and writable by nobody; add the account to the kvm group (sudo usermod -aG kvm nobody) and log in again',
      );
    } finally {
      ws.done();
    }
  },
);

it(
  'says when the host has no /dev/kvm',
  { skip: !isRoot && 'needs root, to give the script a /dev without kvm in a mount namespace' },
  () => {
    const ws = workspace({ accel: 'auto' });
    try {
      // A /dev of its own with only what the script uses, in a private mount namespace.
      const newDev = [
        'd=$(mktemp -d)',
        'mount -t tmpfs none "$d"',
        'for f in null zero urandom; do touch "$d/$f" && mount --bind "/dev/$f" "$d/$f"; done',
        'mount --rbind "$d" /dev',
        'exec "$0"',
      ].join(' && ');
      const res = ws.run({}, [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        newDev,
      ]);
      assert.equal(res.status, 0, res.stderr);
      assert.equal(
        accelLine(res.stderr),
        'run-vm-vm: accelerator: TCG (software emulation, many times slower than KVM): this host has no /dev/kvm (no hardware virtualisation, or the kvm module is not loaded)',
      );
    } finally {
      ws.done();
    }
  },
);
