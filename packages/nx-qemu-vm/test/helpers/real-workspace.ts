// Turns a golden case (written for the fake host) into a throwaway workspace
// on the real host, with every file its run scripts expect, so that a real
// QEMU can be started from the real scripts. Paths in golden configs are
// chosen to read well, not to exist here, so this rewrites the ones that do
// not exist into the temp dir, and never writes outside it.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { distDir } from '../../src/config/defaults';
import type { HostFacts } from '../../src/host/host-facts';
import { readHostFacts } from '../../src/host/host-facts';
import type { ValidMachine } from '../../src/config/valid-machine';
import { type ResolvedMachine, newestKernel, resolveConfig } from '../../src/config/resolve';
import { validateConfig } from '../../src/config/validate';
import { renderRunScript } from '../../src/qemu/run-script';
import type { GoldenCase, RawMachine } from './golden-cases';

/** A BIOS that QEMU will load, stand-in for fake BIOS files (Debian package seabios, a qemu-system-x86 dependency). */
export const REAL_BIOS = '/usr/share/seabios/bios.bin';

export interface RealWorkspace {
  ws: string;
  machines: ResolvedMachine[];
  /** Absolute path of each machine's run script. */
  scripts: Record<string, string>;
  /** What was changed from the golden config, for failure messages. */
  rewrites: string[];
}

/** Root of the fake host's paths inside the temp dir. */
const fakeRoot = (tmp: string) => join(tmp, 'host');

function qemuImg(format: string, file: string, size: string): void {
  mkdirSync(dirname(file), { recursive: true });
  execFileSync('qemu-img', ['create', '-q', '-f', format, file, size], {
    stdio: 'pipe',
    timeout: 30_000,
  });
}

/** Some bytes for files whose content QEMU only loads (initrds): it never runs them, the guest stays paused. */
function writeFiller(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, Buffer.alloc(4096, 0x5a));
}

/**
 * Rewrites the raw (not yet validated) config of one machine for the real host.
 * Working on the raw config keeps defaults as defaults, so what is tested is
 * what a user with the same workspace-vm.json would get.
 */
function realizeMachine(
  name: string,
  m: RawMachine,
  c: GoldenCase,
  tmp: string,
  host: HostFacts,
  rewrites: string[],
): void {
  const set = <T extends object>(
    obj: T,
    prop: keyof T & string,
    value: unknown,
    label: string = prop,
  ) => {
    rewrites.push(`${name}: ${label}: ${JSON.stringify(obj[prop])} -> ${JSON.stringify(value)}`);
    (obj as Record<string, unknown>)[prop] = value;
  };
  const fake = (p: string) => join(fakeRoot(tmp), p);

  // KVM aborts on this project's hosts (it rejects `-cpu max`), and the brief for
  // these tests is "always TCG": `-accel kvm` itself is plain syntax.
  if (m.accel === 'kvm') set(m, 'accel', 'tcg');
  if (typeof m.kernel === 'string' && !host.exists(m.kernel)) {
    const real = newestKernel(host.kernels);
    if (!real)
      throw new Error('no /boot/vmlinuz-* on this host: apt-get install linux-image-amd64');
    set(m, 'kernel', real);
  }
  if (typeof m.initrd === 'string' && !host.exists(m.initrd)) {
    writeFiller(fake(m.initrd));
    set(m, 'initrd', fake(m.initrd));
  }
  if (typeof m.bios === 'string' && !host.exists(m.bios)) {
    // The fake host says whether the BIOS is a directory (holding bios.bin) or a file.
    const isDir = c.hostFiles.includes(`${m.bios}/bios.bin`);
    const target = isDir ? join(fake(m.bios), 'bios.bin') : fake(m.bios);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(REAL_BIOS, target);
    set(m, 'bios', fake(m.bios));
  }
  // Absolute state paths would make the run script write outside the temp dir.
  for (const key of ['diskImage', 'efiVars'])
    if (typeof m[key] === 'string' && isAbsolute(m[key])) set(m, key, fake(m[key]));
  for (const d of m.qemu?.drives ?? [])
    if (isAbsolute(d.file) && !host.exists(d.file))
      set(d, 'file', fake(d.file), 'qemu.drives[].file');
  for (const s of Object.values(m.sharedDirectories ?? {}))
    if (isAbsolute(s.source) && !host.exists(s.source))
      set(s, 'source', fake(s.source), 'sharedDirectories.*.source');
  if (m.store?.source && !host.exists(m.store.source))
    set(m.store, 'source', fake(m.store.source), 'store.source');
}

/** Creates everything a machine's run script expects to find (see the run script contract). */
function provideFiles(r: ResolvedMachine, ws: string): void {
  const inWs = (p: string) => (isAbsolute(p) ? p : join(ws, p));
  const m: ValidMachine = r.config;
  if (r.kernel.generatedInitrd) writeFiller(inWs(r.kernel.initrd));
  // A Debian image's files. QEMU stays paused, but x86 loads the kernel at
  // start: the host's serves; aarch64 takes any bytes as a raw image.
  if (r.system.from === 'debian') {
    const kernel = inWs(r.system.image.kernel);
    writeFiller(kernel);
    const hostKernel = newestKernel(readHostFacts().kernels);
    if (r.arch !== 'aarch64-linux' && hostKernel) copyFileSync(hostKernel, kernel);
    writeFiller(inWs(r.system.image.store));
  }
  // The install target's images (read-only raw drives).
  for (const install of r.installs) writeFiller(inWs(install.image));
  if (m.useBootLoader) {
    qemuImg('qcow2', inWs(r.paths.bootDisk), '60M');
    // The vars template must match the firmware's flash size, so copy the real one.
    if (r.efi) copyFileSync(r.efi.varsTemplate, inWs(r.paths.bootDiskEfiVars));
  }
  if (m.diskSize === null) qemuImg('qcow2', inWs(r.paths.diskImage), '64M');
  for (const d of m.qemu.drives)
    if (!existsSync(inWs(d.file))) qemuImg(d.format, inWs(d.file), '16M');
  for (const s of Object.values(m.sharedDirectories))
    mkdirSync(inWs(s.source), { recursive: true });
  mkdirSync(inWs(m.store.source), { recursive: true });
}

/**
 * Builds the workspace `<tmp>/<wsName>` for a golden case: realized config,
 * run scripts rendered against the real host, and their input files.
 */
export function prepareRealWorkspace(
  c: GoldenCase,
  tmp: string,
  wsName: string,
  host: HostFacts = readHostFacts(),
): RealWorkspace {
  const ws = join(tmp, wsName);
  mkdirSync(ws, { recursive: true });
  const rewrites: string[] = [];
  const raw = structuredClone(c.raw);
  for (const [name, m] of Object.entries(raw.machines))
    realizeMachine(name, m, c, tmp, host, rewrites);
  const machines = Object.values(
    resolveConfig(validateConfig(raw, `golden/${c.name}/config.json (realized)`), host),
  );
  const scripts: Record<string, string> = {};
  for (const r of machines) {
    provideFiles(r, ws);
    const script = join(ws, distDir(r.name), 'bin', `run-${r.name}-vm`);
    mkdirSync(dirname(script), { recursive: true });
    writeFileSync(script, renderRunScript(r), { mode: 0o755 });
    scripts[r.name] = script;
  }
  return { ws, machines, scripts, rewrites };
}
