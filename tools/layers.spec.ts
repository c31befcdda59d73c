// The layer rule (tools/layers.ts) holds for the repository, and it would
// catch the faults it is there for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, checkLayers, importsOf, readLayerOrder } from './layers';

const order = readLayerOrder(readFileSync(join(ROOT, 'README.md'), 'utf8'));

describe('layers', () => {
  it("no import runs up the README's layer list, and no import cycle exists", () => {
    const report = checkLayers(order);
    assert.ok(report.files > 200 && report.imports > 500, `checked ${report.files} files`);
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.cycles, []);
  });

  it('reads the list top to bottom, and reports an order turned upside down', () => {
    assert.ok(
      order.indexOf('packages/nx-qemu-vm/src/test-driver') <
        order.indexOf('packages/nx-qemu-vm/src/qemu'),
    );
    assert.equal(order.at(-1), 'packages/nx-qemu-vm/workspace-vm.schema.json');
    const upsideDown = checkLayers([...order].reverse());
    assert.ok(
      upsideDown.violations.some((v) =>
        v.startsWith(
          'packages/nx-qemu-vm/src/qemu/argv.ts -> packages/nx-qemu-vm/src/contract/host-guest.ts',
        ),
      ),
      upsideDown.violations.slice(0, 5).join('\n'),
    );
    assert.ok(
      checkLayers(order.filter((e) => !e.endsWith('/src/quote'))).violations.some((v) =>
        v.includes('in no layer'),
      ),
    );
  });

  it('sees the static files a module reads and the package imported by its own name', () => {
    const file = 'packages/nx-qemu-vm/src/guest/example.ts';
    assert.deepEqual(
      importsOf(
        file,
        "import { x } from 'nx-qemu-vm';\nconst a = shellFile('qemu/run-vm-lib.sh');\nconst b = join(__dirname, '..', 'image', 'image-hook.sh');\n",
      ),
      [
        'packages/nx-qemu-vm/src/index.ts',
        'packages/nx-qemu-vm/src/qemu/run-vm-lib.sh',
        'packages/nx-qemu-vm/src/image/image-hook.sh',
      ],
    );
  });
});
