import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  ROOT_DISK_ENV,
  checkQcow2Sh,
  damagedMessage,
  notAFileMessage,
  notQcow2Message,
  shOverride,
  unreadableMessage,
} from './disk-rules';

describe('the rules the run script and the stateful targets share', () => {
  it('expand the first set override variable, else the default, in the shell', () => {
    const word = shOverride(ROOT_DISK_ENV, '$fallback');
    assert.equal(word, '${VM_DISK_IMAGE:-${NIX_DISK_IMAGE:-$fallback}}');
    const expand = (env: Record<string, string>) =>
      spawnSync('sh', ['-c', `fallback=default; printf %s "${word}"`], {
        env: { PATH: process.env.PATH ?? '', ...env },
        encoding: 'utf8',
      }).stdout;
    assert.equal(expand({}), 'default');
    assert.equal(expand({ NIX_DISK_IMAGE: 'nix' }), 'nix');
    assert.equal(expand({ VM_DISK_IMAGE: 'vm', NIX_DISK_IMAGE: 'nix' }), 'vm');
  });

  it("give the run script's check_qcow2 the targets' words", () => {
    const res = spawnSync(
      'sh',
      [
        '-c',
        `prog=run-vm-vm; ws=/ws
die() { printf '%s: %s\\n' "$prog" "$*" >&2; exit 1; }
shown() { printf '%s\\n' "\${1#"$ws"/}"; }
${checkQcow2Sh()}
check_qcow2 /dev/null 'root disk'`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(res.status, 1);
    assert.equal(res.stderr, `run-vm-vm: ${notQcow2Message('root disk /dev/null', '/dev/null')}\n`);
  });

  it('hold no character that a double-quoted shell word would expand', () => {
    // The run script pastes these words into die "...": a quote, backquote,
    // dollar or backslash of their own would break or change every run script.
    for (const text of [
      notQcow2Message('L', 'I'),
      damagedMessage('L', 'I', 'F'),
      unreadableMessage('L', 'R'),
      notAFileMessage('L', 'O'),
    ])
      assert.doesNotMatch(text, /["`$\\]/, text);
  });
});
