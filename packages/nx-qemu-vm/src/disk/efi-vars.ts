// The boot disk's EFI boot entry, written into a copy of OVMF's variable
// store on the host, as efibootmgr writes it under OVMF: an EFI_LOAD_OPTION
// "Boot0000" whose device path is the ESP (a GPT partition by its GUID) and
// the loader on it, and "BootOrder" naming it. Writing it here spares the
// builder VM a boot under OVMF, the slowest part of the boot-disk step under
// TCG, and the bytes are a pure function of the layout.
//
// The store is EDK II's (MdeModulePkg VariableFormat.h): a firmware volume
// header, a variable store header with the authenticated-variable GUID, then
// variables, each a 60-byte header, its UCS-2 name and its data, each header
// aligned to 4 bytes; free space is 0xFF. Only stores without the variables
// are taken, as OVMF_VARS.fd ships: nothing is replaced or deleted.

/** EFI_GLOBAL_VARIABLE: the vendor GUID of Boot#### and BootOrder. */
export const EFI_GLOBAL_VARIABLE = '8BE4DF61-93CA-11D2-AA0D-00E098032B8C';
/** gEfiAuthenticatedVariableGuid: the store signature of OVMF's vars since 2014. */
const AUTHENTICATED_STORE = 'AAF32C78-947B-439A-A180-2E144EC37792';
/** NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS */
const NV_BS_RT = 0x7;
const VARIABLE_DATA = 0x55aa;
const VAR_ADDED = 0x3f;
const HEADER_SIZE = 60;
const align4 = (n: number) => (n + 3) & ~3;

export interface EfiVariable {
  name: string;
  vendorGuid: string;
  attributes: number;
  data: Buffer;
}

export interface BootEntry {
  label: string;
  /** The ESP: its number, first sector, size in sectors and unique GUID. */
  partition: { number: number; first: number; sectors: number; guid: string };
  /** The loader's path on the ESP, with backslashes: \EFI\BOOT\BOOTX64.EFI */
  loader: string;
}

/** A GUID in EFI's byte order: the first three fields little-endian. */
export function guidBytes(guid: string): Buffer {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(guid);
  if (!m) throw new Error(`not a GUID: ${JSON.stringify(guid)}`);
  const b = Buffer.alloc(16);
  b.writeUInt32LE(parseInt(m[1], 16), 0);
  b.writeUInt16LE(parseInt(m[2], 16), 4);
  b.writeUInt16LE(parseInt(m[3], 16), 6);
  Buffer.from(m[4] + m[5], 'hex').copy(b, 8);
  return b;
}

const ucs2z = (text: string) => Buffer.from(`${text}\0`, 'utf16le');

function deviceNode(type: number, subType: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt8(type, 0);
  head.writeUInt8(subType, 1);
  head.writeUInt16LE(4 + body.length, 2);
  return Buffer.concat([head, body]);
}

/** EFI_LOAD_OPTION: active, the label, HD(n,GPT,guid,first,sectors)/File(loader)/End. */
export function loadOption(entry: BootEntry): Buffer {
  const { partition: p } = entry;
  const hd = Buffer.alloc(38);
  hd.writeUInt32LE(p.number, 0);
  hd.writeBigUInt64LE(BigInt(p.first), 4);
  hd.writeBigUInt64LE(BigInt(p.sectors), 12);
  guidBytes(p.guid).copy(hd, 20);
  hd.writeUInt8(2, 36); // MBRType: GPT
  hd.writeUInt8(2, 37); // SignatureType: GUID
  const path = Buffer.concat([
    deviceNode(4, 1, hd), // media: hard drive
    deviceNode(4, 4, ucs2z(entry.loader)), // media: file path
    deviceNode(0x7f, 0xff, Buffer.alloc(0)), // end of the whole path
  ]);
  const head = Buffer.alloc(6);
  head.writeUInt32LE(1, 0); // LOAD_OPTION_ACTIVE
  head.writeUInt16LE(path.length, 4);
  return Buffer.concat([head, ucs2z(entry.label), path]);
}

/** Boot0000 for the entry, and BootOrder with only it. */
export function bootEntryVariables(entry: BootEntry): EfiVariable[] {
  return [
    {
      name: 'Boot0000',
      vendorGuid: EFI_GLOBAL_VARIABLE,
      attributes: NV_BS_RT,
      data: loadOption(entry),
    },
    {
      name: 'BootOrder',
      vendorGuid: EFI_GLOBAL_VARIABLE,
      attributes: NV_BS_RT,
      data: Buffer.from([0, 0]),
    },
  ];
}

interface StoreLayout {
  /** Offsets in the file: the first variable header, and the end of the store. */
  start: number;
  end: number;
}

function storeLayout(file: Buffer): StoreLayout {
  if (file.length < 64 || file.toString('latin1', 40, 44) !== '_FVH')
    throw new Error('not an EFI variable file: no firmware volume header (_FVH)');
  const store = file.readUInt16LE(48); // the volume header's length
  if (store + 28 > file.length) throw new Error('not an EFI variable file: truncated store header');
  if (!file.subarray(store, store + 16).equals(guidBytes(AUTHENTICATED_STORE)))
    throw new Error(
      'not an EFI variable file with an authenticated variable store (OVMF since 2014)',
    );
  if (file[store + 20] !== 0x5a || file[store + 21] !== 0xfe)
    throw new Error('the EFI variable store is not formatted and healthy');
  const end = store + file.readUInt32LE(store + 16);
  if (end > file.length) throw new Error('the EFI variable store is larger than its file');
  return { start: align4(store + 28), end };
}

/** The variables a store holds (name, vendor), and where its free space starts. */
export function readVariables(file: Buffer): { variables: EfiVariable[]; free: number } {
  const { start, end } = storeLayout(file);
  const variables: EfiVariable[] = [];
  let at = start;
  while (at + HEADER_SIZE <= end && file.readUInt16LE(at) === VARIABLE_DATA) {
    const nameSize = file.readUInt32LE(at + 36);
    const dataSize = file.readUInt32LE(at + 40);
    const next = at + HEADER_SIZE + nameSize + dataSize;
    if (next > end) throw new Error(`the EFI variable at offset ${at} runs past the store`);
    if (file[at + 2] === VAR_ADDED) {
      const nameEnd = at + HEADER_SIZE + nameSize;
      variables.push({
        name: file.toString('utf16le', at + HEADER_SIZE, nameEnd).replace(/\0+$/, ''),
        vendorGuid: guidText(file.subarray(at + 44, at + 60)),
        attributes: file.readUInt32LE(at + 4),
        data: Buffer.from(file.subarray(nameEnd, next)),
      });
    }
    at = align4(next);
  }
  return { variables, free: at };
}

function guidText(b: Buffer): string {
  const hex = (x: Buffer) => x.toString('hex');
  return [
    b.readUInt32LE(0).toString(16).padStart(8, '0'),
    b.readUInt16LE(4).toString(16).padStart(4, '0'),
    b.readUInt16LE(6).toString(16).padStart(4, '0'),
    hex(b.subarray(8, 10)),
    hex(b.subarray(10, 16)),
  ]
    .join('-')
    .toUpperCase();
}

/** A copy of `file` with `added` appended to its store; refuses to shadow a variable it has. */
export function withVariables(file: Buffer, added: EfiVariable[]): Buffer {
  const { end } = storeLayout(file);
  const { variables, free } = readVariables(file);
  const out = Buffer.from(file);
  let at = free;
  for (const v of added) {
    if (variables.some((o) => o.name === v.name && o.vendorGuid === v.vendorGuid.toUpperCase()))
      throw new Error(`the EFI variable file already has ${v.name}; use a fresh vars template`);
    const name = ucs2z(v.name);
    const size = HEADER_SIZE + name.length + v.data.length;
    if (align4(at + size) > end) throw new Error('the EFI variable store is full');
    if (!out.subarray(at, at + size).every((byte) => byte === 0xff))
      throw new Error(`the EFI variable store is not free at offset ${at}`);
    const header = Buffer.alloc(HEADER_SIZE); // counter, time stamp and key index: 0
    header.writeUInt16LE(VARIABLE_DATA, 0);
    header.writeUInt8(VAR_ADDED, 2);
    header.writeUInt32LE(v.attributes, 4);
    header.writeUInt32LE(name.length, 36);
    header.writeUInt32LE(v.data.length, 40);
    guidBytes(v.vendorGuid).copy(header, 44);
    Buffer.concat([header, name, v.data]).copy(out, at);
    at = align4(at + size);
  }
  return out;
}

/** Partition `number` of a GPT disk, from the disk's first sectors (512-byte ones). */
export function gptPartition(head: Buffer, number: number): BootEntry['partition'] {
  if (head.length < 1024 || head.toString('latin1', 512, 520) !== 'EFI PART')
    throw new Error('no GPT header in the boot disk');
  const entries = Number(head.readBigUInt64LE(512 + 72)) * 512;
  const size = head.readUInt32LE(512 + 84);
  const at = entries + (number - 1) * size;
  if (number < 1 || number > head.readUInt32LE(512 + 80) || at + size > head.length)
    throw new Error(`no partition ${number} in the boot disk's GPT`);
  const first = Number(head.readBigUInt64LE(at + 32));
  const last = Number(head.readBigUInt64LE(at + 40));
  if (first === 0 || last < first) throw new Error(`partition ${number} of the boot disk is empty`);
  return {
    number,
    first,
    sectors: last - first + 1,
    guid: guidText(head.subarray(at + 16, at + 32)),
  };
}
