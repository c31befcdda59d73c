import { ConfigError } from '../config/errors';

/** Prints an error for a person: config problems as their list, anything else with its message. */
export function reportFailure(err: unknown): void {
  if (err instanceof ConfigError) console.error(err.message);
  else if (err instanceof Error) console.error(`error: ${err.message}`);
  else console.error(`error: ${String(err)}`);
}
