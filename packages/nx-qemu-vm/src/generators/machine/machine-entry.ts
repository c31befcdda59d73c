// Command-line options to a workspace-vm.json machine entry. Pure: no tree, no
// Nx. Ranges and cross-field rules are left to validateConfig, which knows
// them and names the JSON path; here we only reject what cannot be parsed.
import type { MachineGeneratorSchema } from './schema';
import { shorten, shownValue } from '../../config/errors';

export interface ForwardPortEntry {
  proto?: 'tcp' | 'udp';
  host: { address?: string; port: number };
  guest: { port: number };
}

const FORWARD = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d+):(\d+)(?:\/(tcp|udp))?$/;

/** `8080:80,127.0.0.1:2222:22,5353:53/udp` to the schema's forwardPorts entries. */
export function parseForwardPorts(text: string): ForwardPortEntry[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((spec) => {
      const m = FORWARD.exec(spec);
      if (!m)
        throw new Error(
          `--forwardPorts: "${shorten(spec)}" is not [hostAddress:]hostPort:guestPort[/tcp|/udp], e.g. 8080:80, 0.0.0.0:2222:22 or 5353:53/udp.`,
        );
      const [, address, hostPort, guestPort, proto] = m;
      return {
        ...(proto ? { proto: proto as 'tcp' | 'udp' } : {}),
        host: { ...(address ? { address } : {}), port: Number(hostPort) },
        guest: { port: Number(guestPort) },
      };
    });
}

export function parseExtraOptions(text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`--options is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(
      `--options must be a JSON object of machine options, e.g. '{"accel":"tcg"}', not ${shownValue(value)}.`,
    );
  return value as Record<string, unknown>;
}

const NAMED = [
  'memorySize',
  'cores',
  'diskSize',
  'graphics',
  'useBootLoader',
  'useEFIBoot',
] as const;

/**
 * The machine's entry: only what was asked for, so the file stays short and
 * every other option keeps the schema's default. Named options win over
 * the same keys in --options, being the more specific.
 */
export function machineEntry(options: MachineGeneratorSchema): Record<string, unknown> {
  const entry: Record<string, unknown> = { ...parseExtraOptions(options.options) };
  for (const key of NAMED) if (options[key] !== undefined) entry[key] = options[key];
  if (options.forwardPorts !== undefined)
    entry.forwardPorts = parseForwardPorts(options.forwardPorts);
  return entry;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The file with one more machine, appended last; throws when the name is taken. */
export function withMachine(
  config: unknown,
  name: string,
  entry: Record<string, unknown>,
  file = 'workspace-vm.json',
): Record<string, unknown> {
  // Anything else would have to be replaced to add a machine, and the file is the user's.
  if (!isObject(config) || (config.machines !== undefined && !isObject(config.machines)))
    throw new Error(
      `${file} does not hold an object with a "machines" object; fix it before adding "${name}".`,
    );
  const machines = config.machines ?? {};
  if (Object.hasOwn(machines, name))
    throw new Error(
      `machine "${name}" already exists in ${file}. To change it, edit machines.${name} there (editors complete its options through "$schema"); to add another machine, pick a new name.`,
    );
  return { ...config, machines: { ...machines, [name]: entry } };
}
