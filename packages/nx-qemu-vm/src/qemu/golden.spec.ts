// Golden tests of the QEMU command line and the run script, in the style of
// libvirt's qemuxml2argv tests. Each directory under ./golden is one case:
//
//   config.json          a complete workspace-vm.json (the input)
//   fake-host.json       optional {"files": [...]}: paths that exist on the case's
//                        fake host besides its kernels and OVMF/AAVMF (see
//                        test/helpers/fake-host.ts), e.g. a BIOS or an initrd
//   expected.argv        renderArgvListing(buildQemuArgv(r)), one argument per line;
//                        named expected.<machine>.argv when the case has several machines
//   run-<machine>-vm     renderRunScript(r), byte for byte
//
// Machines are resolved against fakeHost(), so the outputs do not depend on the
// machine running the tests. qemu-accepts.spec.ts starts every case in a real QEMU,
// and test/shellcheck.spec.ts lints every run script.
//
// After an intended change to the argv or the run script, rewrite the expected
// files instead of comparing, then review `git diff` before committing:
//
//   UPDATE_GOLDEN=1 npm test -- golden
//
// Adding a case: create golden/<descriptive-name>/config.json and run the line above.
// The coverage test below fails while some option, enum value, boolean value or
// null/non-null variant of the schema is exercised by no case.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import schema from '../../workspace-vm.schema.json';
import {
  listGoldenCases,
  outputFilesOnDisk,
  renderGoldenCase,
  validateCase,
} from '../../test/helpers/golden-cases';
import {
  type RootSchema,
  collectSetPaths,
  missingValues,
  optionPaths,
} from '../../test/helpers/schema-coverage';

const UPDATE = !!process.env.UPDATE_GOLDEN && process.env.UPDATE_GOLDEN !== '0';
const HOW_TO_UPDATE =
  'If the change is intended: UPDATE_GOLDEN=1 npm test -- golden, then review git diff.';
const cases = listGoldenCases();

describe('golden argv and run scripts', () => {
  for (const c of cases) {
    test(c.name, () => {
      const rendered = renderGoldenCase(c);
      if (UPDATE) {
        // Removing outputs first also drops files of machines the case no longer has.
        for (const f of outputFilesOnDisk(c)) rmSync(join(c.dir, f));
        for (const [file, text] of rendered) writeFileSync(join(c.dir, file), text);
        return;
      }
      assert.deepEqual(
        outputFilesOnDisk(c),
        [...rendered.keys()].sort(),
        `golden/${c.name}: output files differ. ${HOW_TO_UPDATE}`,
      );
      for (const [file, text] of rendered) {
        try {
          assert.equal(text, readFileSync(join(c.dir, file), 'utf8'));
        } catch (err) {
          // Keep assert's diff, but say which file and what to do about it. The
          // reporter prints the stack, which already holds the old message.
          const e = err as Error;
          const old = e.message;
          e.message = `golden/${c.name}/${file} differs. ${HOW_TO_UPDATE}\n${old}`;
          e.stack = e.stack?.replace(old, e.message);
          throw e;
        }
      }
    });
  }

  test('there are enough cases, with several machines in some', () => {
    assert.ok(cases.length >= 25, `only ${cases.length} golden cases`);
    assert.ok(
      cases.filter((c) => Object.keys(c.raw.machines).length > 1).length >= 2,
      'want two multi-machine cases',
    );
  });

  test('golden configs exercise every option and value of the schema', () => {
    const root = schema as unknown as RootSchema;
    const machine = root.definitions.machine;
    const paths = optionPaths(root, machine);
    // Options must be written in some config.json; relying on a default does not count.
    const written = new Map<string, Set<string>>();
    // Values are judged after defaults are filled, so e.g. `graphics: true` by default counts.
    const effective = new Map<string, Set<string>>();
    for (const c of cases) {
      for (const m of Object.values(c.raw.machines)) collectSetPaths(root, machine, m, written);
      for (const m of Object.values(validateCase(c).machines))
        collectSetPaths(root, machine, m, effective);
    }
    const unset = [...paths.keys()].filter((p) => !written.has(p));
    assert.deepEqual(
      unset,
      [],
      'these options are set in no golden config.json; add them to a case',
    );
    const missing = [...paths].flatMap(([p, node]) =>
      missingValues(node, effective.get(p)).map((v) => `${p} = ${v}`),
    );
    assert.deepEqual(missing, [], 'no golden case uses these values; add a case that does');
  });
});
