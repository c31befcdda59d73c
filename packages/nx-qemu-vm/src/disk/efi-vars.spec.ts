import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EFI_GLOBAL_VARIABLE,
  bootEntryVariables,
  gptPartition,
  loadOption,
  readVariables,
  withVariables,
} from './efi-vars';
import { BOOT_DISK_LAYOUT } from './boot-disk-recipe';

const FIXTURES = join(__dirname, '../../test/fixtures/efi');
// Debian's OVMF (package ovmf), as the boot-disk step copies it.
const TEMPLATE = '/usr/share/OVMF/OVMF_VARS.fd';
const ESP = {
  number: 2,
  first: 2048,
  sectors: 120799,
  guid: BOOT_DISK_LAYOUT.esp.guid,
};
const ENTRY = { label: 'nx-qemu-vm', partition: ESP, loader: '\\EFI\\BOOT\\BOOTX64.EFI' };

describe('EFI variables written on the host', () => {
  it('encodes the boot entry byte for byte as efibootmgr did under OVMF', () => {
    const expected = readFileSync(join(FIXTURES, 'efibootmgr-load-option.hex'), 'utf8').trim();
    assert.equal(loadOption(ENTRY).toString('hex'), expected);
  });

  it("adds Boot0000 and BootOrder to OVMF's empty store, and changes nothing else", () => {
    const template = readFileSync(TEMPLATE);
    assert.deepEqual(readVariables(template).variables, []);
    const written = withVariables(template, bootEntryVariables(ENTRY));
    assert.equal(written.length, template.length);
    const { variables } = readVariables(written);
    assert.deepEqual(
      variables.map((v) => [v.name, v.vendorGuid, v.attributes]),
      [
        ['Boot0000', EFI_GLOBAL_VARIABLE, 7],
        ['BootOrder', EFI_GLOBAL_VARIABLE, 7],
      ],
    );
    assert.deepEqual(variables[0].data, loadOption(ENTRY));
    assert.deepEqual(variables[1].data, Buffer.from([0, 0]));
    const changed = [...written.keys()].filter((i) => written[i] !== template[i]);
    const { free } = readVariables(template);
    assert.ok(
      changed.length > 0 && changed[0] >= free && changed.at(-1)! < free + 512,
      `${changed[0]}..${changed.at(-1)}`,
    );
    assert.deepEqual(
      withVariables(template, bootEntryVariables(ENTRY)),
      written,
      'the same bytes every time',
    );
  });

  it('refuses a store that has the variables already, and a file that is no store', () => {
    const once = withVariables(readFileSync(TEMPLATE), bootEntryVariables(ENTRY));
    assert.throws(() => withVariables(once, bootEntryVariables(ENTRY)), /already has Boot0000/);
    assert.throws(() => withVariables(Buffer.alloc(4096), []), /no firmware volume header/);
    const foreign = Buffer.from(readFileSync(TEMPLATE));
    foreign.fill(0, foreign.readUInt16LE(48), foreign.readUInt16LE(48) + 16);
    assert.throws(() => withVariables(foreign, []), /authenticated variable store/);
  });

  describe('the ESP from the GPT', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'nx-qemu-vm-gpt-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("reads partition 2 as sgdisk made it, as the boot disk's script does", () => {
      const disk = join(dir, 'disk.raw');
      const L = BOOT_DISK_LAYOUT;
      assert.equal(spawnSync('truncate', ['-s', '60M', disk]).status, 0);
      const res = spawnSync('sgdisk', [
        '--set-alignment=1',
        `--new=1:${L.biosBoot.first}:${L.biosBoot.last}`,
        `--new=2:${L.esp.first}:0`,
        `--partition-guid=2:${L.esp.guid}`,
        disk,
      ]);
      assert.equal(res.status, 0, String(res.stderr));
      assert.deepEqual(gptPartition(readFileSync(disk).subarray(0, 34 * 512), 2), ESP);
      assert.throws(
        () => gptPartition(readFileSync(disk).subarray(0, 34 * 512), 3),
        /partition 3 of the boot disk is empty/,
      );
      assert.throws(() => gptPartition(Buffer.alloc(34 * 512), 2), /no GPT header/);
    });
  });
});
