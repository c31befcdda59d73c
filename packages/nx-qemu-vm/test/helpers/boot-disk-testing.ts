// Test support for the boot disk: a tiny initrd that proves the kernel ran
// with the expected command line, and a bounded QEMU boot of a disk image
// under TCG (KVM on the test hosts is not reliable) with BIOS or OVMF.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { gzipDeterministic, writeCpio } from '../../src/formats/cpio';
import { newestKernel } from '../../src/config/resolve';
import type { BootDiskRecipe } from '../../src/disk/boot-disk-recipe';

export const BOOT_MARKER = 'BOOTDISK-OK';
export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

/** The host's newest installed kernel, the one the machines boot by default. */
export function hostKernel(): string {
  const found = newestKernel(
    readdirSync('/boot')
      .filter((f) => f.startsWith('vmlinuz-'))
      .map((f) => `/boot/${f}`),
  );
  if (!found) throw new Error('no /boot/vmlinuz-* on this host; install linux-image-amd64');
  return found;
}

/**
 * A gzip newc initrd with busybox-static whose /init prints the marker and
 * the kernel command line on the console, then powers off at once. No
 * modules: the disk is not needed once GRUB has loaded kernel and initrd.
 */
export function markerInitrd(): Buffer {
  const init = [
    '#!/bin/busybox sh',
    '/bin/busybox mount -t proc proc /proc',
    '/bin/busybox mount -t devtmpfs devtmpfs /dev',
    `echo "${BOOT_MARKER} $(/bin/busybox cat /proc/cmdline)" >/dev/console`,
    '/bin/busybox poweroff -f',
    '',
  ].join('\n');
  return gzipDeterministic(
    writeCpio([
      { path: 'bin/busybox', type: 'file', mode: 0o755, data: readFileSync('/bin/busybox') },
      { path: 'bin/sh', type: 'symlink', target: 'busybox' },
      { path: 'init', type: 'file', mode: 0o755, data: Buffer.from(init) },
      { path: 'proc', type: 'dir' },
      { path: 'dev', type: 'dir' },
    ]),
  );
}

export interface BootResult {
  /** The serial log. */
  log: string;
  /** The line the initrd printed, from the marker on; undefined when it never ran. */
  markerLine?: string;
  exitCode: number | null;
  timedOut: boolean;
  seconds: number;
}

/**
 * Boots `image` (raw) as the first boot device on virtio-blk, with the
 * serial port in a file. `efiVarsCopy` selects OVMF; it must be a writable
 * path (the template is copied there). -no-reboot turns the guest's
 * poweroff (or a crash and reboot) into QEMU's exit.
 */
export async function bootImage(o: {
  image: string;
  log: string;
  efiVarsCopy?: string;
  timeoutMs: number;
}): Promise<BootResult> {
  // QEMU option values end at a comma; a literal one is written twice.
  const q = (path: string) => path.replace(/,/g, ',,');
  const args = [
    '-accel',
    'tcg',
    '-m',
    '512',
    '-nographic',
    '-serial',
    `file:${o.log}`,
    '-monitor',
    'none',
    '-no-reboot',
  ];
  if (o.efiVarsCopy) {
    copyFileSync(OVMF_VARS, o.efiVarsCopy);
    args.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${q(o.efiVarsCopy)}`,
    );
  }
  // snapshot=on: the guest's writes go to a throwaway overlay, so the image
  // under test stays as built and several boots may share it.
  args.push(
    '-drive',
    `file=${q(o.image)},format=raw,if=none,id=d0,snapshot=on`,
    '-device',
    'virtio-blk-pci,drive=d0,bootindex=1',
  );
  const started = Date.now();
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, o.timeoutMs);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  }).finally(() => clearTimeout(timer));
  const log = existsSync(o.log) ? readFileSync(o.log, 'latin1') : '';
  if (exitCode !== 0 && !timedOut && stderr)
    throw new Error(`qemu-system-x86_64 exited with ${exitCode}: ${stderr.trim()}`);
  const markerLine = log
    .split(/\r?\n/)
    .map((l) => l.slice(l.indexOf(BOOT_MARKER)))
    .find((l) => l.startsWith(`${BOOT_MARKER} `));
  return { log, markerLine, exitCode, timedOut, seconds: (Date.now() - started) / 1000 };
}

/** Kernel parameters with a quote-worthy value, for rendering recipes. */
export const TEST_KERNEL_PARAMS = [
  'console=ttyS0,115200n8',
  'init=/run/nx-qemu-vm/init',
  'nxvm.test=$HOME',
];
/** A recipe with plausible values, changed by `over`. */
export const testRecipe = (over: Partial<BootDiskRecipe>): BootDiskRecipe => ({
  mode: 'host',
  target: '/tmp/x.img',
  kernel: '/k',
  initrd: '/i',
  kernelParams: TEST_KERNEL_PARAMS,
  resolution: { x: 1024, y: 768 },
  efi: true,
  serialConsole: true,
  sourceDateEpoch: 1700000000,
  workDir: '/tmp/w',
  ...over,
});
