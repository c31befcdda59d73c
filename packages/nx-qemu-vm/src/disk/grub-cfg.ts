// The grub.cfg on the boot disk's ESP. One file serves both GRUB platforms
// of an x86 disk (i386-pc and x86_64-efi): both core images use (,gpt2)/grub
// as prefix, so both read /grub/grub.cfg and take the same kernel, initrd and
// parameters. An aarch64 disk has one platform, arm64-efi.

/** Where the recipe puts the kernel and initrd on the ESP (GRUB paths). */
export const ESP_KERNEL = '/kernels/bzImage';
export const ESP_INITRD = '/kernels/initrd';
/** GRUB's font for gfxterm, copied to the ESP only for graphical machines. */
export const ESP_FONT = '/grub/fonts/unicode.pf2';

export interface GrubCfgOptions {
  kernelParams: readonly string[];
  resolution: { x: number; y: number };
  serialConsole: boolean;
  /** aarch64: arm64-efi GRUB, whose console is the firmware's (AAVMF's serial port). */
  arm64?: boolean;
}

/** GRUB script single quotes: like sh, nothing inside is expanded (no $var). */
function grubQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function renderGrubCfg(o: GrubCfgOptions): string {
  const { x, y } = o.resolution;
  const lines = [
    '# Written by the nx-qemu-vm boot-disk recipe. GRUB reads it from (,gpt2)/grub,',
    '# on an x86 disk both GRUBs (BIOS and UEFI): the two boot paths cannot drift apart.',
    'set default=0',
    // Boot at once: the VM is started by scripts and tests. (Not
    // timeout_style=hidden: with a serial terminal_input, GRUB then spends
    // about 3 s under TCG polling for a key before it boots.)
    'set timeout=0',
    'insmod part_gpt',
    'insmod fat',
    `set gfxmode=${x}x${y}`,
  ];
  // Debian's arm64 kernel is a gzip-compressed Image: GRUB unpacks it through gzio.
  if (o.arm64) lines.push('insmod gzio');
  if (o.serialConsole && o.arm64) {
    // No PC serial port: the UEFI console is AAVMF's PL011.
    lines.push('terminal_input console', 'terminal_output console');
  } else if (o.serialConsole) {
    // The machine runs without a display: GRUB's own messages (errors
    // included) must reach the serial log too, not only the VGA screen.
    lines.push(
      'serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1',
      'terminal_input serial console',
      'terminal_output serial console',
    );
  } else {
    // A display: switch to gfxmode with GRUB's graphical terminal and keep
    // that mode for the kernel, so the guest's console has the resolution
    // the machine asks for. Without the font GRUB stays in text mode.
    lines.push(
      'insmod all_video',
      `if loadfont ${ESP_FONT}; then`,
      '  insmod gfxterm',
      '  terminal_output gfxterm',
      '  set gfxpayload=keep',
      'fi',
    );
  }
  lines.push(
    "menuentry 'nx-qemu-vm' {",
    `  linux ${ESP_KERNEL}${o.kernelParams.map((p) => ` ${grubQuote(p)}`).join('')}`,
    `  initrd ${ESP_INITRD}`,
    '}',
  );
  return lines.join('\n') + '\n';
}
