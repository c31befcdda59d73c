// The one line a run script prints about its accelerator ("run-vm-vm:
// accelerator: TCG ...: why"), and what the test API makes of the lines of
// several machines. The run script's say_accel writes the mark from here.

/** What follows the script's name in its line. */
export const ACCEL_MARK = 'accelerator: ';

/** The accelerator text a run script said (the last time, after a retry), if any. */
export function acceleratorSaid(runScriptOutput: string, prog: string): string | undefined {
  const start = `${prog}: ${ACCEL_MARK}`;
  const said = runScriptOutput
    .split('\n')
    .filter((l) => l.startsWith(start))
    .pop();
  return said?.slice(start.length);
}

/** One line per distinct answer, naming the machines that got it. */
export function accelSummary(
  said: readonly { name: string; text: string | undefined }[],
): string[] {
  const byText = new Map<string, string[]>();
  for (const { name, text } of said) {
    if (text === undefined) continue;
    byText.set(text, [...(byText.get(text) ?? []), name]);
  }
  return [...byText].map(
    ([text, names]) => `nx-qemu-vm: ${names.join(', ')}: ${ACCEL_MARK}${text}\n`,
  );
}
