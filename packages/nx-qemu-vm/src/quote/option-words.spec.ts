import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  OptionWordsError,
  evaluateOptionWord,
  parseOptionWords,
  renderOptionWord,
} from './option-words';

/** What sh makes of the rendered words: one line per argument. */
function viaShell(entry: string, env: Record<string, string>): string[] {
  const words = parseOptionWords(entry).map(renderOptionWord);
  const res = spawnSync('sh', ['-c', `for a in ${words.join(' ')}; do printf '%s\\n' "$a"; done`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  });
  assert.equal(res.status, 0, res.stderr);
  return res.stdout.split('\n').slice(0, -1);
}

describe('qemu.options words', () => {
  it('expands parameters as sh does, and keeps each word one argument', () => {
    const cases: [string, Record<string, string>][] = [
      ['-smbios type=1,serial=${VM_SERIAL:-nx-golden}', {}],
      ['-smbios type=1,serial=${VM_SERIAL:-nx-golden}', { VM_SERIAL: 'a b;c' }],
      [
        '-netdev user,id=user.0,hostname=custom${QEMU_NET_OPTS:+,$QEMU_NET_OPTS}',
        { QEMU_NET_OPTS: 'x=1' },
      ],
      ['-netdev user,id=user.0,hostname=custom${QEMU_NET_OPTS:+,$QEMU_NET_OPTS}', {}],
      ['-device   virtio-rng-pci,id=#1;x|y&z   -vga std', {}],
      ['-name $NAME-$OTHER ${UNSET-dflt} ${EMPTY+set} ${EMPTY:+notset}', { NAME: 'n*', EMPTY: '' }],
    ];
    for (const [entry, env] of cases) {
      const expected = parseOptionWords(entry).map((w) => evaluateOptionWord(w, env));
      assert.deepEqual(viaShell(entry, env), expected, entry);
    }
    assert.deepEqual(
      parseOptionWords('-device   virtio-rng-pci,id=#1;x|y&z').map((w) =>
        evaluateOptionWord(w, {}),
      ),
      ['-device', 'virtio-rng-pci,id=#1;x|y&z'],
    );
  });

  it('refuses quotes, backslashes, command substitution and malformed expansions', () => {
    for (const bad of [
      "-vga 'std'",
      '-vga "std"',
      '-name a\\ b',
      '-name `id`',
      '-name $(id)',
      '-name ${A:=x}',
      '-name ${A',
      '-name $1',
      '-name ${A:-{x}}',
      '-name a\nb',
    ])
      assert.throws(() => parseOptionWords(bad), OptionWordsError, bad);
  });
});
