// The modules an initrd loads: a warm state is saved before any disk driver
// loads, so every driver a disk interface needs must be one stage 1 defers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOnFakeHost, TEST_STAGE1_MODULES } from '../../test/helpers/resolved-machine';
import { BLOCK_DRIVERS, renderStage1 } from '../guest/stage1';
import { wantedModules } from './initrd';

const machine = resolveOnFakeHost;
const modules = TEST_STAGE1_MODULES;

describe('stage 1 and warm starts', () => {
  it("defers every disk driver of every disk interface until a warm state's restore", () => {
    const wanted = (diskInterface: string) => wantedModules(machine({ qemu: { diskInterface } }));
    const base = wanted('virtio');
    const drivers = new Set<string>(BLOCK_DRIVERS);
    assert.ok(drivers.has('virtio_blk'));
    for (const iface of ['scsi', 'ide'])
      for (const m of wanted(iface).filter((m) => !base.includes(m)))
        assert.ok(drivers.has(m), `${iface}: ${m} is not in BLOCK_DRIVERS`);
    assert.match(
      renderStage1(machine({}), modules),
      /^block_drivers='virtio_blk sym53c8xx sd_mod ahci ata_piix'$/m,
    );
  });
});
