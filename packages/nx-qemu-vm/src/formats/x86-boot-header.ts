// The setup header of an x86 Linux kernel image (bzImage), as the boot
// protocol lays it out (Documentation/arch/x86/boot.rst). Two things are read
// from it: the kernel's version string, which names its /lib/modules
// directory, and the compressed payload, which PVH boot unpacks.
//
// Pure: it reads a Buffer holding the start of the file (or all of it).

/** setup_sects: 512-byte sectors of setup code after the boot sector; 0 means 4. */
const SETUP_SECTS = 0x1f1;
/** "HdrS", which protocol 2.00 and later write. */
const HEADER_MAGIC = 0x202;
/** The protocol version, major in the high byte. */
const VERSION = 0x206;
/** kernel_version (2.00+): where the version string is, relative to SETUP_BASE. */
const KERNEL_VERSION = 0x20e;
/** payload_offset and payload_length (2.08+): the compressed kernel, from the protected-mode code. */
const PAYLOAD_OFFSET = 0x248;
const PAYLOAD_LENGTH = 0x24c;
/** The boot sector's size: the setup code, which kernel_version counts from, starts here. */
export const SETUP_BASE = 0x200;

export interface X86BootHeader {
  /** The boot protocol version, e.g. 0x20f for 2.15. */
  version: number;
  /** Where the version string starts in the file, when the kernel names one. */
  kernelVersionAt?: number;
  /** From protocol 2.08 on, and when the buffer holds the fields: the compressed kernel in the file. */
  payload?: { start: number; length: number };
}

/** The setup header of an x86 bzImage, or why `image` does not start with one. */
export function readX86BootHeader(image: Buffer): X86BootHeader | { why: string } {
  if (
    image.length < KERNEL_VERSION + 2 ||
    image.toString('latin1', HEADER_MAGIC, HEADER_MAGIC + 4) !== 'HdrS'
  )
    return { why: 'not an x86 bzImage (no HdrS header)' };
  const version = image.readUInt16LE(VERSION);
  const header: X86BootHeader = { version };
  const pointer = image.readUInt16LE(KERNEL_VERSION);
  if (version >= 0x200 && pointer !== 0) header.kernelVersionAt = pointer + SETUP_BASE;
  if (version >= 0x208 && image.length >= PAYLOAD_LENGTH + 4) {
    const setupSectors = image[SETUP_SECTS] || 4;
    header.payload = {
      start: (setupSectors + 1) * 512 + image.readUInt32LE(PAYLOAD_OFFSET),
      length: image.readUInt32LE(PAYLOAD_LENGTH),
    };
  }
  return header;
}
