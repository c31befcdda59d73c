// succeed(...commands) and fail(...commands) take several commands, as NixOS's
// test driver does, and options after them: this splits the two.
import type { ExecuteBufferOptions, ExecuteTextOptions } from './types';

/** Commands, and their options last: text output unless they ask for bytes. */
export type TextCommands = [string, ...string[]] | [string, ...string[], ExecuteTextOptions];
export type BufferCommands = [string, ...string[], ExecuteBufferOptions];

export function splitCommands<Options extends ExecuteTextOptions | ExecuteBufferOptions>(
  method: string,
  args: readonly (string | Options)[],
): { commands: string[]; options: Options } {
  const last = args.at(-1);
  const hasOptions = typeof last === 'object' && last !== null;
  const commands = hasOptions ? args.slice(0, -1) : args;
  if (!commands.length) throw new TypeError(`${method}: name at least one command`);
  const notText = commands.findIndex((c) => typeof c !== 'string');
  if (notText >= 0)
    throw new TypeError(
      `${method}: command ${notText + 1} is not a string: ${JSON.stringify(commands[notText])}`,
    );
  return { commands: commands as string[], options: (hasOptions ? last : {}) as Options };
}

/** The outputs of several commands, one after the other, as text or bytes like each. */
export function joinOutputs(outputs: (string | Buffer)[]): string | Buffer {
  return outputs.every((o) => typeof o === 'string')
    ? outputs.join('')
    : Buffer.concat(outputs.map((o) => (typeof o === 'string' ? Buffer.from(o) : o)));
}
