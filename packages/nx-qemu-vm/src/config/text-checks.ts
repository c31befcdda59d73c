// Checks on the text of a machine's options, for values that reach generated
// scripts, the kernel command line or QEMU's option syntax. Every such value
// is quoted where it lands; these checks refuse what quoting cannot carry
// faithfully (a newline in a path, a blank in init=) and what would let one
// option rewrite another (a drive option named "file").
import type { ValidMachine } from './valid-machine';
import { OptionWordsError, parseOptionWords } from '../quote/option-words';
import { kernelParamProblem } from '../quote/kernel-cmdline';
import type { AddProblem as Add } from './errors';

const CONTROL = /[\x00-\x1f\x7f]/;

/** Options whose text may span lines: shell commands, quoted wherever they go. */
const MULTILINE = new Set(['postBootCommands']);

/** Every string and every key of the machine, with its path, outside the multi-line options. */
function* texts(
  value: unknown,
  path: (string | number)[],
): Generator<[(string | number)[], string]> {
  if (typeof value === 'string') yield [path, value];
  else if (Array.isArray(value))
    for (const [i, v] of value.entries()) yield* texts(v, [...path, i]);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      if (path.length === 0 && MULTILINE.has(k)) continue;
      // A file's text is its content, written as bytes, never parsed.
      if (path.length === 2 && path[0] === 'files' && k === 'text') continue;
      yield [[...path, k], k];
      yield* texts(v, [...path, k]);
    }
}

/** QEMU's own keys of a -drive and a -device: an extra option must not replace them. */
const RESERVED_DRIVE_KEYS = ['id', 'if', 'file', 'format', 'node-name', 'driver'];
const RESERVED_DEVICE_KEYS = ['id', 'drive', 'bus', 'unit', 'scsi-id', 'driver'];
const OPTION_KEY = /^[a-z][a-z0-9_.-]*$/;
/** A console name as the kernel takes it after console=, e.g. ttyS0,115200n8 or hvc0. */
const CONSOLE = /^[A-Za-z0-9][A-Za-z0-9,._:/@-]*$/;
/** init= is one word of the kernel command line. */
const INIT = /^\/[^\s"'\\]*$/;

export function checkTexts(m: ValidMachine, add: Add): void {
  for (const [path, text] of texts(m, []))
    if (CONTROL.test(text))
      add(
        path,
        text,
        'contains a control character (a newline, a tab, ...); write it without one: it ends up in a script, on the kernel command line or in a QEMU option.',
      );

  if (m.init !== 'systemd' && !INIT.test(m.init))
    add(
      ['init'],
      m.init,
      'must be "systemd" or an absolute path without blanks, quotes or backslashes: it is passed as init= on the kernel command line, where those would split it or add parameters.',
    );
  m.qemu.consoles?.forEach((c, i) => {
    if (!CONSOLE.test(c))
      add(
        ['qemu', 'consoles', i],
        c,
        'must be a console name such as "ttyS0,115200n8" or "tty0": letters, digits and , . _ : / @ - only (it becomes console=... on the kernel command line).',
      );
  });
  m.kernelParams.forEach((p, i) => {
    const problem = kernelParamProblem(p, m.useBootLoader);
    if (problem)
      add(['kernelParams', i], p, `${problem}; write one parameter per entry, without quotes.`);
  });

  m.qemu.drives.forEach((d, i) => {
    for (const [field, reserved] of [
      ['driveExtraOpts', RESERVED_DRIVE_KEYS],
      ['deviceExtraOpts', RESERVED_DEVICE_KEYS],
    ] as const)
      for (const key of Object.keys(d[field] ?? {})) {
        if (!OPTION_KEY.test(key))
          add(
            ['qemu', 'drives', i, field, key],
            key,
            'is not a QEMU option name: lower-case letters, digits and . _ - only.',
          );
        else if (reserved.includes(key))
          add(
            ['qemu', 'drives', i, field, key],
            key,
            `is set by nx-qemu-vm for this drive and cannot be overridden (reserved: ${reserved.join(', ')}).`,
          );
      }
  });

  for (const field of ['options', 'networkingOptions'] as const)
    m.qemu[field]?.forEach((entry, i) => {
      try {
        parseOptionWords(entry);
      } catch (err) {
        if (!(err instanceof OptionWordsError)) throw err;
        add(
          ['qemu', field, i],
          entry,
          `${err.message}. Allowed: QEMU arguments separated by spaces, with $NAME, \${NAME}, \${NAME:-default} or \${NAME:+text} expanded when the machine starts; each word is one argument.`,
        );
      }
    });
}
