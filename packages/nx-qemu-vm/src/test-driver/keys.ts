// Key presses for QMP's send-key: a combination such as 'ctrl-alt-delete' is
// QEMU key codes (qcodes) joined by '-'; typing text maps each character to
// its key on a US keyboard. Pure.

export interface QKey {
  type: 'qcode';
  data: string;
}

const QCODE = /^[a-z0-9_]+$/;

/** 'ctrl-alt-delete' -> the qcodes pressed together. QEMU refuses unknown names itself. */
export function keyCombination(combination: string): QKey[] {
  const names = combination.split('-');
  if (!combination || names.some((n) => !QCODE.test(n)))
    throw new TypeError(
      `not a key combination: ${JSON.stringify(combination)} (QEMU key names joined by '-', e.g. 'ctrl-alt-delete', 'ret', 'shift-a')`,
    );
  return names.map((data) => ({ type: 'qcode', data }));
}

const PLAIN: Record<string, string> = {
  ' ': 'spc',
  '\n': 'ret',
  '\t': 'tab',
  '-': 'minus',
  '=': 'equal',
  '[': 'bracket_left',
  ']': 'bracket_right',
  ';': 'semicolon',
  "'": 'apostrophe',
  '`': 'grave_accent',
  '\\': 'backslash',
  ',': 'comma',
  '.': 'dot',
  '/': 'slash',
};
const SHIFTED: Record<string, string> = {
  '!': '1',
  '@': '2',
  '#': '3',
  $: '4',
  '%': '5',
  '^': '6',
  '&': '7',
  '*': '8',
  '(': '9',
  ')': '0',
  _: 'minus',
  '+': 'equal',
  '{': 'bracket_left',
  '}': 'bracket_right',
  ':': 'semicolon',
  '"': 'apostrophe',
  '~': 'grave_accent',
  '|': 'backslash',
  '<': 'comma',
  '>': 'dot',
  '?': 'slash',
};

/** The key combination that types `char` on a US keyboard. */
export function keyForChar(char: string): string {
  if (/^[a-z0-9]$/.test(char)) return char;
  if (/^[A-Z]$/.test(char)) return `shift-${char.toLowerCase()}`;
  if (char in PLAIN) return PLAIN[char];
  if (char in SHIFTED) return `shift-${SHIFTED[char]}`;
  throw new TypeError(
    `cannot type ${JSON.stringify(char)} on a US keyboard; send it to the serial console instead`,
  );
}
