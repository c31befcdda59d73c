// qemu.options and qemu.networkingOptions, as NixOS has them: each entry is
// one or more QEMU arguments separated by blanks, and `$NAME`-style
// parameters expand when the run script runs (`-smbios type=1,serial=${VM_SERIAL:-ci}`).
// That is all a config may use: no quotes, no backslashes, no command
// substitution, no globbing. Each word reaches QEMU as one argument, the
// expansions inside it included, whatever the variables hold; a `#` or a
// `;` is a character of the argument, never shell syntax.

/** A piece of one word: literal text, or a parameter expansion. */
export type OptionWordPart =
  | { readonly text: string }
  | {
      readonly param: string;
      /** `${NAME-x}`, `${NAME:-x}`, `${NAME+x}`, `${NAME:+x}`; none for `$NAME` and `${NAME}`. */
      readonly op?: '-' | ':-' | '+' | ':+';
      /** The text after the operator: literal text and plain `$NAME` references. */
      readonly word?: readonly OptionWordPart[];
    };

export type OptionWord = readonly OptionWordPart[];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
/** Characters that would be shell syntax even inside double quotes, or that we refuse outright. */
const FORBIDDEN = /["'\\`\x00-\x1f\x7f]/;

export class OptionWordsError extends Error {}

function parseName(s: string, at: number): string {
  const m = NAME.exec(s.slice(at));
  if (!m)
    throw new OptionWordsError(`"$" at character ${at + 1} is not followed by a variable name`);
  return m[0];
}

/** Parses text made of literal characters and plain `$NAME` / `${NAME}` references. */
function parsePlain(s: string, at: number, end: string | undefined): [OptionWordPart[], number] {
  const parts: OptionWordPart[] = [];
  let text = '';
  const flush = () => {
    if (text) parts.push({ text });
    text = '';
  };
  while (at < s.length && s[at] !== end) {
    const c = s[at];
    if (c === '$') {
      flush();
      if (s[at + 1] === '{') {
        const name = parseName(s, at + 2);
        const close = at + 2 + name.length;
        if (s[close] !== '}') throw new OptionWordsError(`"\${${name}" has no closing "}" here`);
        parts.push({ param: name });
        at = close + 1;
      } else if (s[at + 1] === '(') {
        throw new OptionWordsError('command substitution "$(" is not allowed');
      } else {
        const name = parseName(s, at + 1);
        parts.push({ param: name });
        at += 1 + name.length;
      }
    } else {
      if (c === '{' || c === '}') {
        if (end !== undefined) throw new OptionWordsError(`"${c}" cannot stand inside \${...}`);
      }
      text += c;
      at++;
    }
  }
  flush();
  return [parts, at];
}

/** One word: literal text and expansions, `${NAME:-text}` and friends included. */
function parseWord(s: string): OptionWord {
  const parts: OptionWordPart[] = [];
  let at = 0;
  while (at < s.length) {
    if (s.startsWith('${', at)) {
      const name = parseName(s, at + 2);
      let i = at + 2 + name.length;
      const op = ([':-', ':+', '-', '+'] as const).find((o) => s.startsWith(o, i));
      if (op) {
        const [word, next] = parsePlain(s, i + op.length, '}');
        if (s[next] !== '}') throw new OptionWordsError(`"\${${name}${op}" has no closing "}"`);
        parts.push({ param: name, op, word });
        at = next + 1;
        continue;
      }
      if (s[i] !== '}')
        throw new OptionWordsError(
          `"\${${name}" must be \${${name}}, \${${name}:-text} or \${${name}:+text}`,
        );
      i++;
      parts.push({ param: name });
      at = i;
      continue;
    }
    // Plain text up to the next "${": plain references and literals.
    const nextBrace = s.indexOf('${', at);
    const stop = nextBrace === -1 ? s.length : nextBrace;
    const [plain] = parsePlain(s.slice(0, stop), at, undefined);
    parts.push(...plain);
    at = stop;
  }
  return parts;
}

/**
 * Splits an entry into words (separated by spaces) and each word into its
 * parts, or throws OptionWordsError saying what is not allowed.
 */
export function parseOptionWords(entry: string): OptionWord[] {
  const bad = FORBIDDEN.exec(entry);
  if (bad)
    throw new OptionWordsError(
      `${JSON.stringify(bad[0])} is not allowed: entries hold plain words and $NAME expansions, never quotes, backslashes, backticks or control characters`,
    );
  return entry
    .split(' ')
    .filter((w) => w !== '')
    .map(parseWord);
}

const rawPlain = (parts: readonly OptionWordPart[]): string =>
  parts.map((p) => ('text' in p ? p.text : `\${${p.param}}`)).join('');

/**
 * The word as shell text: one double-quoted string, so the shell expands the
 * parameters and nothing else, and never splits the result. Literal `$` does
 * not occur (every `$` starts an expansion), and the parser refused every
 * other character that is special inside double quotes.
 */
export function renderOptionWord(word: OptionWord): string {
  return `"${word
    .map((p) => {
      if ('text' in p) return p.text;
      if (!p.op) return `\${${p.param}}`;
      return `\${${p.param}${p.op}${rawPlain(p.word ?? [])}}`;
    })
    .join('')}"`;
}

/** What the shell makes of the word with these variables set: the argument QEMU gets. */
export function evaluateOptionWord(
  word: OptionWord,
  env: Readonly<Record<string, string>>,
): string {
  const plain = (parts: readonly OptionWordPart[]): string =>
    parts.map((p) => ('text' in p ? p.text : (env[p.param] ?? ''))).join('');
  return word
    .map((p) => {
      if ('text' in p) return p.text;
      const value = env[p.param];
      const set = value !== undefined;
      const nonEmpty = set && value !== '';
      switch (p.op) {
        case undefined:
          return value ?? '';
        case '-':
          return set ? value : plain(p.word ?? []);
        case ':-':
          return nonEmpty ? value : plain(p.word ?? []);
        case '+':
          return set ? plain(p.word ?? []) : '';
        case ':+':
          return nonEmpty ? plain(p.word ?? []) : '';
      }
    })
    .join('');
}
