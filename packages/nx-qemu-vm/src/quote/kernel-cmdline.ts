// The kernel command line: words separated by blanks, with double quotes of
// its own. A parameter reaches the kernel unchanged only if it holds none of
// these, through -append (direct boot) and through GRUB's linux command alike.

/**
 * GRUB's loader re-quotes each argument of `linux` when it builds the
 * command line: it backslash-escapes `"`, `'` and `\` and wraps words with
 * blanks in double quotes. The kernel does not understand backslashes, so
 * such a parameter would arrive changed. We refuse them instead, which keeps
 * the guarantee that the guest sees exactly the words that direct kernel
 * boot (-append) would give it. (The schema already forbids blanks.) Direct
 * boot passes ' and \\ through; the kernel itself only treats " specially.
 */
export function kernelParamProblem(p: string, throughGrub = true): string | undefined {
  if (p === '') return 'is empty';
  if (/[\s\x00-\x1f\x7f]/.test(p)) return 'contains a blank or a control character';
  // The kernel's own parser takes double quotes as quoting, whichever way it boots.
  if (p.includes('"')) return "contains '\"', which the kernel command line takes as quoting";
  if (throughGrub && /["'\\]/.test(p))
    return `contains ${JSON.stringify(p.match(/["'\\]/)![0])}, which the kernel command line cannot carry unchanged (GRUB would pass it backslash-escaped)`;
  return undefined;
}
