// The run script's own behaviour (disks, TMPDIR, EFI vars, errors), exercised
// with the real sh, qemu-img and QEMU. QEMU is asked for `-version` so that it
// exits as soon as the script has handed over to it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  readdirSync,
  renameSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/validate';
import { resolveMachine } from '../config/resolve';
import { renderRunScript } from './run-script';
import { fakeHost } from '../../test/helpers/fake-host';
import { hostKernel } from '../../test/helpers/boot-disk-testing';
import { layoutStampPath } from '../disk/layout';
import { fakeQemu } from '../../test/helpers/fake-qemu';

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-runscript-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function workspace(machine: object, dirName = `ws${counter++}`) {
  const ws = join(root, dirName);
  const bin = join(ws, 'dist/vm/vm/bin');
  mkdirSync(bin, { recursive: true });
  // A real kernel and an initrd file: the script checks that it can read them.
  const host = fakeHost({ kernels: [hostKernel()], files: ['/fake/OVMF_VARS.fd'] });
  mkdirSync(join(ws, 'dist/vm/vm/initrd'), { recursive: true });
  writeFileSync(join(ws, 'dist/vm/vm/initrd/initrd.img'), 'initrd');
  const r = resolveMachine(
    'vm',
    1,
    validateConfig({ machines: { vm: { accel: 'tcg', ...machine } } }).machines.vm,
    host,
  );
  const script = join(bin, 'run-vm-vm');
  writeFileSync(script, renderRunScript(r));
  chmodSync(script, 0o755);
  const run = (env: Record<string, string> = {}, cwd = root, args: string[] = []) => {
    const res = spawnSync(script, args, {
      cwd,
      encoding: 'utf8',
      timeout: 30_000,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: root,
        TMPDIR: join(root, 'tmp'),
        QEMU_OPTS: '-version',
        ...env,
      },
    });
    return { status: res.status, stdout: res.stdout, stderr: res.stderr };
  };
  return { ws, run, script };
}

function virtualSize(image: string): number {
  const res = spawnSync('qemu-img', ['info', '--output=json', image], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout)['virtual-size'];
}

describe('run script', () => {
  before(() => mkdirSync(join(root, 'tmp'), { recursive: true }));

  it('creates the root disk on first start, then never touches it', () => {
    const { ws, run } = workspace({ diskSize: 300 });
    const first = run();
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /QEMU emulator version/);
    const disk = join(ws, '.vm/vm/vm.qcow2');
    assert.equal(virtualSize(disk), 300 * 1024 * 1024);
    const before = statSync(disk);
    const bytes = readFileSync(disk);
    assert.equal(run().status, 0);
    const after = statSync(disk);
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtimeMs, before.mtimeMs);
    assert.deepEqual(readFileSync(disk), bytes);
  });

  it('never overwrites an existing file at the disk path, whatever it holds', () => {
    const { ws, run } = workspace({});
    mkdirSync(join(ws, '.vm/vm'), { recursive: true });
    writeFileSync(join(ws, '.vm/vm/vm.qcow2'), 'precious user data');
    // Not a qcow2 image: refused before QEMU starts, and left as it was.
    const res = run();
    assert.equal(res.status, 1);
    assert.match(res.stderr, /root disk \.vm\/vm\/vm\.qcow2 is not a qcow2 image/);
    assert.equal(readFileSync(join(ws, '.vm/vm/vm.qcow2'), 'utf8'), 'precious user data');
  });

  it('honours VM_DISK_IMAGE, then NIX_DISK_IMAGE, relative to the current directory', () => {
    const { ws, run } = workspace({});
    const cwd = join(root, 'cwd-disk');
    mkdirSync(cwd, { recursive: true });
    assert.equal(run({ NIX_DISK_IMAGE: 'nix.qcow2' }, cwd).status, 0);
    assert.ok(existsSync(join(cwd, 'nix.qcow2')));
    assert.equal(
      run({ VM_DISK_IMAGE: 'vm.qcow2', NIX_DISK_IMAGE: 'ignored.qcow2' }, cwd).status,
      0,
    );
    assert.ok(existsSync(join(cwd, 'vm.qcow2')));
    assert.ok(!existsSync(join(cwd, 'ignored.qcow2')));
    assert.ok(
      !existsSync(join(ws, '.vm/vm/vm.qcow2')),
      'the default disk is not created when overridden',
    );
  });

  it('works from a workspace path with spaces, quotes, dollars and commas', () => {
    const { ws, run } = workspace({ emptyDiskImages: [16] }, `we ird 'q" $HOME,x`);
    const res = run({ TMPDIR: join(ws, 'scratch $x'), USE_TMPDIR: '1' });
    assert.equal(res.status, 0, res.stderr);
    assert.ok(existsSync(join(ws, '.vm/vm/vm.qcow2')));
    assert.ok(existsSync(join(ws, 'scratch $x/xchg')));
    assert.equal(virtualSize(join(ws, '.vm/vm/empty0.qcow2')), 16 * 1024 * 1024);
  });

  it('makes a new scratch directory and removes it afterwards, unless USE_TMPDIR is set', () => {
    const { run } = workspace({ emptyDiskImages: [8] });
    const scratch = join(root, 'scratch-new');
    mkdirSync(scratch, { recursive: true });
    assert.equal(run({ TMPDIR: scratch }).status, 0);
    assert.deepEqual(readdirSync(scratch), [], 'nothing is left in TMPDIR');
    // With USE_TMPDIR the caller's directory is used and kept; only the control channel goes.
    assert.equal(run({ TMPDIR: scratch, USE_TMPDIR: '1' }).status, 0);
    assert.deepEqual(readdirSync(scratch), ['xchg']);
  });

  // The stamp is where the targets look for it (layoutStampPath), though the run script writes it.
  it('creates empty disks once in the state directory, with a layout stamp, and keeps them', () => {
    const { ws, run } = workspace({ emptyDiskImages: [8, 4] });
    assert.equal(run().status, 0);
    assert.equal(virtualSize(join(ws, '.vm/vm/empty0.qcow2')), 8 * 1024 * 1024);
    assert.equal(virtualSize(join(ws, '.vm/vm/empty1.qcow2')), 4 * 1024 * 1024);
    assert.deepEqual(
      JSON.parse(readFileSync(layoutStampPath(join(ws, '.vm/vm/empty1.qcow2')), 'utf8')),
      { sizeMiB: 4, interface: 'virtio' },
    );
    assert.deepEqual(
      JSON.parse(readFileSync(layoutStampPath(join(ws, '.vm/vm/vm.qcow2')), 'utf8')).sizeMiB,
      512,
    );
    writeFileSync(join(ws, '.vm/vm/empty0.qcow2'), 'kept');
    assert.equal(run().status, 0);
    assert.equal(readFileSync(join(ws, '.vm/vm/empty0.qcow2'), 'utf8'), 'kept');
  });

  it('copies the EFI vars once, writable, and never overwrites them', () => {
    const { ws, run } = workspace({ useBootLoader: true, useEFIBoot: true });
    const bootDir = join(ws, 'dist/vm/vm/boot-disk');
    mkdirSync(bootDir, { recursive: true });
    assert.equal(
      spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(bootDir, 'disk.img'), '60M'])
        .status,
      0,
    );
    writeFileSync(join(bootDir, 'efi-vars.fd'), 'template vars');
    chmodSync(join(bootDir, 'efi-vars.fd'), 0o444);
    const res = run();
    assert.equal(res.status, 0, res.stderr);
    const vars = join(ws, '.vm/vm/vm-efi-vars.fd');
    assert.equal(readFileSync(vars, 'utf8'), 'template vars');
    assert.equal(statSync(vars).mode & 0o777, 0o644);
    writeFileSync(vars, 'vars the guest wrote');
    assert.equal(run().status, 0);
    assert.equal(readFileSync(vars, 'utf8'), 'vars the guest wrote');
    const other = join(root, 'other-vars.fd');
    assert.equal(run({ NIX_EFI_VARS: other }).status, 0);
    assert.equal(readFileSync(other, 'utf8'), 'template vars');
  });

  it('boots an overlay of the cached boot disk, leaving the boot disk untouched', () => {
    const { ws, run } = workspace({ useBootLoader: true });
    const bootDisk = join(ws, 'dist/vm/vm/boot-disk/disk.img');
    mkdirSync(join(ws, 'dist/vm/vm/boot-disk'), { recursive: true });
    assert.equal(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', bootDisk, '60M']).status, 0);
    const scratch = join(root, 'scratch-boot');
    mkdirSync(scratch, { recursive: true });
    const before = readFileSync(bootDisk);
    assert.equal(run({ TMPDIR: scratch, USE_TMPDIR: '1' }).status, 0);
    const info = JSON.parse(
      spawnSync('qemu-img', ['info', '--output=json', join(scratch, 'disk.img')], {
        encoding: 'utf8',
      }).stdout,
    );
    assert.equal(info['backing-filename'], bootDisk);
    assert.deepEqual(readFileSync(bootDisk), before);
  });

  it('tells the user to build a missing boot disk', () => {
    const { run } = workspace({ useBootLoader: true });
    const res = run();
    assert.equal(res.status, 1);
    assert.match(res.stderr, /boot disk .* is missing\. Build it: npx nx run vm:boot-disk/);
  });

  it('names the Debian package of a missing QEMU', () => {
    const { ws, run } = workspace({ qemu: { binary: 'qemu-system-nonexistent' } });
    const res = run();
    assert.equal(res.status, 1);
    assert.match(
      res.stderr,
      /qemu-system-nonexistent not found\. Install it: apt-get install qemu-system-x86/,
    );
    assert.ok(!existsSync(join(ws, '.vm')), 'nothing is created before the check');
  });

  it('refuses to start without a root disk when diskSize is null, creating nothing', () => {
    const { ws, run } = workspace({ diskSize: null });
    const res = run();
    assert.equal(res.status, 1);
    assert.match(res.stderr, /does not exist, and diskSize is null/);
    assert.ok(!existsSync(join(ws, '.vm')));
  });

  it('passes QEMU_OPTS and its own arguments on to QEMU', () => {
    const { run } = workspace({});
    const res = run({ QEMU_OPTS: '-machine help' });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /^pc-q35-[\d.]+-machine options:/, 'QEMU_OPTS reached QEMU');
    const own = run({ QEMU_OPTS: '' }, root, ['-device', 'help']);
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stdout, /virtio-blk-pci/, 'the script arguments reached QEMU');
  });
});

describe('run script: the key of a warm state', () => {
  // A save writes the key of what it was saved for beside the state; QEMU
  // (asked for -version) then exits at once.
  const { run } = workspace({ warmStart: true });
  const keyOf = (args: string[], scratch = join(root, 'warm-a')) => {
    mkdirSync(scratch, { recursive: true });
    const state = join(scratch, 'state');
    const res = run(
      { VM_WARM: 'save', VM_WARM_FILE: state, TMPDIR: scratch, USE_TMPDIR: '1' },
      root,
      args,
    );
    assert.equal(res.status, 0, res.stderr);
    return readFileSync(`${state}.key`, 'utf8');
  };
  const testApiArgs = (scratch: string, log: string) => [
    '-chardev',
    `socket,id=nxvm-agent,path=${scratch}/api/agent.sock,server=on,wait=off`,
    '-chardev',
    `stdio,id=nxvm-console,signal=off,logfile=${log},logappend=on`,
  ];

  it('leaves out what a restore does not depend on: scratch paths, the log file, -snapshot, the agent flag', () => {
    const a = join(root, 'warm-a');
    const b = join(root, 'warm-b');
    const key = keyOf(testApiArgs(a, '/logs/test-1.log'), a);
    assert.equal(keyOf(testApiArgs(b, '/logs/test-2,,x.log'), b), key);
    assert.equal(keyOf([...testApiArgs(b, '/logs/3.log'), '-snapshot'], b), key);
    assert.equal(
      keyOf(['-fw_cfg', 'name=opt/m,string=exec0']),
      keyOf(['-fw_cfg', 'name=opt/m,string=exec1']),
    );
  });

  it('changes with the devices and anything else in the arguments', () => {
    const a = join(root, 'warm-a');
    const key = keyOf(testApiArgs(a, '/logs/1.log'), a);
    assert.notEqual(keyOf([...testApiArgs(a, '/logs/1.log'), '-device', 'virtio-rng-pci'], a), key);
    assert.notEqual(keyOf(testApiArgs(a, '/logs/1.log').slice(0, 2), a), key);
    assert.notEqual(
      keyOf(['-fw_cfg', 'name=opt/m,string=exec0']),
      keyOf(['-fw_cfg', 'name=opt/m,string=boot0']),
    );
  });
});

describe('run script: a ready state (warmStart "ready")', () => {
  // A Debian machine whose image files are stand-ins: the script only reads them.
  const { ws, run } = workspace({
    warmStart: 'ready',
    system: { from: 'debian' },
    emptyDiskImages: [16],
  });
  const image = join(ws, 'dist/vm/vm/image');
  const ready = (mode: string, scratch: string, extra: Record<string, string> = {}) => {
    mkdirSync(scratch, { recursive: true });
    const state = join(scratch, 'ready-state');
    const args = mode === 'ready-restore' ? ['-snapshot'] : [];
    const res = run(
      { VM_WARM: mode, VM_WARM_FILE: state, TMPDIR: scratch, USE_TMPDIR: '1', ...extra },
      root,
      args,
    );
    return { ...res, state };
  };
  /** A save as the warm target completes it: the key named once the state is written. */
  const saved = (scratch: string) => {
    const res = ready('ready-save', scratch);
    assert.equal(res.status, 0, res.stderr);
    renameSync(`${res.state}.key.new`, `${res.state}.key`);
    writeFileSync(res.state, 'state');
    return res.state;
  };
  before(() => {
    mkdirSync(image, { recursive: true });
    writeFileSync(join(image, 'vmlinuz'), readFileSync(hostKernel()));
    writeFileSync(join(image, 'store.erofs'), 'store 1');
  });

  it('saves with disks of its own beside the state, keyed by the images the guest read', () => {
    const first = ready('ready-save', join(root, 'ready-a'), {
      VM_DISK_IMAGE: join(root, 'not-this.qcow2'),
    });
    assert.equal(first.status, 0, first.stderr);
    assert.ok(existsSync(`${first.state}.root.qcow2`), 'the root disk beside the state');
    assert.ok(existsSync(`${first.state}.empty0.qcow2`), 'the empty disk beside the state');
    assert.ok(!existsSync(join(root, 'not-this.qcow2')), 'VM_DISK_IMAGE is not the saved disk');
    assert.ok(!existsSync(join(ws, '.vm/vm/empty0.qcow2')), "the machine's own disks untouched");
    assert.ok(!existsSync(`${first.state}.key`), 'no key before the state is whole');
    const key = readFileSync(`${first.state}.key.new`, 'utf8');
    const again = ready('ready-save', join(root, 'ready-b'));
    assert.equal(readFileSync(`${again.state}.key.new`, 'utf8'), key);
    const net = ready('ready-save', join(root, 'ready-b2'), { QEMU_NET_OPTS: 'dns=10.0.2.9' });
    assert.notEqual(readFileSync(`${net.state}.key.new`, 'utf8'), key, 'other network options');
    writeFileSync(join(image, 'store.erofs'), 'store 2');
    const other = ready('ready-save', join(root, 'ready-c'));
    assert.notEqual(readFileSync(`${other.state}.key.new`, 'utf8'), key, 'another image');
    const snapshot = run(
      {
        VM_WARM: 'ready-save',
        VM_WARM_FILE: join(root, 'ready-c', 's2'),
        TMPDIR: join(root, 'ready-c'),
        USE_TMPDIR: '1',
      },
      root,
      ['-snapshot'],
    );
    assert.notEqual(snapshot.status, 0);
    assert.match(snapshot.stderr, /writes the state's own disks: no -snapshot/);
  });

  it('restores only a state that fits, and marks one that does not before QEMU starts', () => {
    const state = saved(join(root, 'ready-d'));
    const fits = ready('ready-restore', join(root, 'ready-d'));
    assert.equal(fits.status, 0, fits.stderr);
    assert.match(fits.stdout, /QEMU emulator version/);
    const plain = run({
      VM_WARM: 'ready-restore',
      VM_WARM_FILE: state,
      TMPDIR: join(root, 'ready-d'),
      USE_TMPDIR: '1',
    });
    assert.notEqual(plain.status, 0);
    assert.match(plain.stderr, /needs -snapshot/);
    writeFileSync(join(image, 'store.erofs'), 'store 3');
    const unfit = ready('ready-restore', join(root, 'ready-d'));
    assert.notEqual(unfit.status, 0);
    assert.match(unfit.stderr, /the state was saved for another .*image.*npx nx run vm:test-warm/);
    assert.ok(existsSync(join(root, 'ready-d', 'warm-unfit')), 'the mark the test API reads');
    assert.doesNotMatch(unfit.stdout, /QEMU emulator version/, 'QEMU did not start');
  });

  it('marks a state whose key or disk is missing or damaged, and creates nothing', () => {
    for (const [file, damage, said] of [
      ['.root.qcow2', 'remove', /ready-state\.root\.qcow2 is missing/],
      ['.empty0.qcow2', 'remove', /ready-state\.empty0\.qcow2 is missing/],
      ['.key', 'remove', /ready-state\.key is missing/],
      ['.root.qcow2', 'damage', /disk .*ready-state\.root\.qcow2 is damaged/],
    ] as const) {
      const scratch = mkdtempSync(join(root, 'ready-e-'));
      const state = saved(scratch);
      if (damage === 'remove') rmSync(state + file);
      else writeFileSync(state + file, 'not a qcow2 image');
      const res = ready('ready-restore', scratch);
      assert.notEqual(res.status, 0, `${file} ${damage}`);
      assert.match(res.stderr, said);
      assert.ok(existsSync(join(scratch, 'warm-unfit')), `${file} ${damage}: marked`);
      if (damage === 'remove') assert.ok(!existsSync(state + file), `${file}: not created`);
    }
  });

  it('is refused on a machine whose warmStart is not "ready"', () => {
    const plain = workspace({ warmStart: true });
    const scratch = join(root, 'ready-e');
    mkdirSync(scratch, { recursive: true });
    const res = plain.run({
      VM_WARM: 'ready-save',
      VM_WARM_FILE: join(scratch, 'ready-state'),
      TMPDIR: scratch,
      USE_TMPDIR: '1',
    });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /machine vm has no ready state \(its warmStart is not "ready"\)/);
  });
});

describe('run script: the key of a warm state under KVM', () => {
  // The probe is skipped (VM_ACCEL), so this runs the same on hosts with and
  // without a working KVM; the host CPU's features are made up in a mount
  // namespace of an unprivileged user namespace, over /proc/cpuinfo.
  const { run, script } = workspace({ warmStart: true, accel: 'auto' });
  const keyOf = (accel: string, cpuFlags?: string) => {
    const scratch = mkdtempSync(join(root, 'warm-kvm-'));
    const state = join(scratch, 'state');
    const env = {
      VM_ACCEL: accel,
      VM_WARM: 'save',
      VM_WARM_FILE: state,
      TMPDIR: scratch,
      USE_TMPDIR: '1',
    };
    let res;
    if (cpuFlags === undefined) res = run(env);
    else {
      const cpuinfo = join(scratch, 'cpuinfo');
      writeFileSync(cpuinfo, `processor\t: 0\nflags\t\t: ${cpuFlags}\n`);
      res = spawnSync(
        'unshare',
        [
          '--user',
          '--map-root-user',
          '--mount',
          'sh',
          '-c',
          'mount --bind "$1" /proc/cpuinfo && exec "$2"',
          'sh',
          cpuinfo,
          script,
        ],
        { encoding: 'utf8', env: { ...process.env, QEMU_OPTS: '-version', ...env } },
      );
    }
    assert.equal(res.status, 0, res.stderr);
    return readFileSync(`${state}.key`, 'utf8');
  };

  it("depends on the host CPU's features under KVM (-cpu max passes them on), and not under TCG", () => {
    assert.notEqual(keyOf('kvm', 'fpu vme sse2 avx2'), keyOf('kvm', 'fpu vme sse2'));
    assert.equal(keyOf('kvm', 'fpu vme sse2 avx2'), keyOf('kvm', 'fpu vme sse2 avx2'));
    assert.equal(keyOf('tcg', 'fpu vme sse2 avx2'), keyOf('tcg', 'fpu vme sse2'));
    assert.notEqual(
      keyOf('kvm'),
      keyOf('tcg'),
      'a state saved under TCG is not restored under KVM',
    );
  });
});

describe('run script: the kernel QEMU boots', () => {
  // A stand-in QEMU first on PATH prints the kernel it was given.
  const kernelQemu = (dir: string) =>
    fakeQemu(dir, 'while [ $# -gt 0 ]; do [ "$1" = -kernel ] && echo "kernel: $2"; shift; done\n');

  it('is the unpacked kernel when the initrd target wrote one (PVH), and the image otherwise', () => {
    const { ws, run } = workspace({ graphics: false });
    const bin = kernelQemu(join(ws, 'fake-bin'));
    const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, QEMU_OPTS: '' };
    let res = run(env);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `kernel: ${hostKernel()}\n`);
    writeFileSync(join(ws, 'dist/vm/vm/initrd/vmlinux'), 'ELF');
    res = run(env);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `kernel: ${join(ws, 'dist/vm/vm/initrd/vmlinux')}\n`);
  });

  it('is the image on a machine with a display, whose screen shows the console only then', () => {
    const { ws, run } = workspace({ graphics: true });
    const bin = kernelQemu(join(ws, 'fake-bin'));
    writeFileSync(join(ws, 'dist/vm/vm/initrd/vmlinux'), 'ELF');
    const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, QEMU_OPTS: '' };
    let res = run(env);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `kernel: ${hostKernel()}\n`);
    // The exec script, which shows no screen, asks for the faster PVH boot.
    res = run({ ...env, VM_NO_SCREEN: '1' });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `kernel: ${join(ws, 'dist/vm/vm/initrd/vmlinux')}\n`);
    rmSync(join(ws, 'dist/vm/vm/initrd/vmlinux'));
    res = run({ ...env, VM_NO_SCREEN: '1' });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `kernel: ${hostKernel()}\n`, 'the image when nothing was unpacked');
  });

  /** QEMU's arguments as the run script passes them, to a QEMU that prints them. */
  const argvOfRun = (ws: string, run: ReturnType<typeof workspace>['run'], env = {}) => {
    const bin = fakeQemu(join(ws, 'fake-bin'), 'printf "%s\\n" "$@"\n');
    const scratch = join(ws, 'scratch');
    mkdirSync(scratch, { recursive: true });
    const res = run({
      PATH: `${bin}:${process.env.PATH}`,
      QEMU_OPTS: '',
      TMPDIR: scratch,
      USE_TMPDIR: '1',
      ...env,
    });
    assert.equal(res.status, 0, res.stderr);
    return res.stdout.split('\n');
  };
  const appendOf = (argv: string[]) => argv[argv.indexOf('-append') + 1];

  it("keeps a TCG guest's clock off the TSC, unless the machine's own parameters choose", () => {
    const append = (machine: object, env: Record<string, string> = {}) => {
      const { ws, run } = workspace({ graphics: false, ...machine });
      return appendOf(argvOfRun(ws, run, env));
    };
    assert.match(append({}), / tsc=unstable$/);
    // VM_ACCEL may carry the accelerator's options.
    assert.match(append({ accel: 'auto' }, { VM_ACCEL: 'tcg,thread=single' }), / tsc=unstable$/);
    assert.doesNotMatch(append({ accel: 'auto' }, { VM_ACCEL: 'kvm' }), /tsc=/);
    // The user's own choice wins, from the config or at run time.
    assert.doesNotMatch(append({ kernelParams: ['tsc=reliable'] }), /tsc=unstable/);
    const atRunTime = append({}, { QEMU_KERNEL_PARAMS: 'tsc=reliable' });
    assert.match(atRunTime, /tsc=reliable/);
    assert.doesNotMatch(atRunTime, /tsc=unstable/);
  });

  it('is the unpacked kernel under KVM too, with the same machine and CPU model', () => {
    // QEMU enters a PVH kernel the same way under either accelerator; what the
    // probe and VM_ACCEL choose changes -accel and, under TCG, adds the
    // parameter that keeps the guest's clock off the TSC (ArchProfile.tcgKernelParams).
    const { ws, run } = workspace({ accel: 'auto', graphics: false });
    writeFileSync(join(ws, 'dist/vm/vm/initrd/vmlinux'), 'ELF');
    const kvm = argvOfRun(ws, run, { VM_ACCEL: 'kvm' });
    const tcg = argvOfRun(ws, run, { VM_ACCEL: 'tcg' });
    assert.equal(kvm[kvm.indexOf('-accel') + 1], 'kvm');
    assert.equal(kvm[kvm.indexOf('-kernel') + 1], join(ws, 'dist/vm/vm/initrd/vmlinux'));
    assert.doesNotMatch(appendOf(kvm), /tsc=/);
    assert.equal(appendOf(tcg), `${appendOf(kvm)} tsc=unstable`);
    const common = (argv: string[]) =>
      argv.map((a, i) =>
        argv[i - 1] === '-accel' ? '<accel>' : argv[i - 1] === '-append' ? '<append>' : a,
      );
    assert.deepEqual(common(kvm), common(tcg));
  });
});
