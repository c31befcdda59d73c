// systemd in a guest, as NixOS's test driver offers it: the commands the test
// API runs (every value quoted), what their output means (a unit's
// properties, a wait's verdict), and what the same calls mean on a machine
// whose init is the plugin's own stage 2, which knows only its declared
// services. Pure, so the driver's semantics are unit-tested apart from a guest.
import { shQuote } from '../quote/shell';
import type { Verdict } from './readiness';

/** What systemd calls a unit's ActiveState; requireUnitState refuses other words (a typo would never match). */
export const ACTIVE_STATES = [
  'active',
  'reloading',
  'inactive',
  'failed',
  'activating',
  'deactivating',
  'maintenance',
  'refreshing',
] as const;
export type ActiveState = (typeof ACTIVE_STATES)[number];

// A login name as useradd accepts it: it reaches su as one plain word.
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;

/**
 * `script` as it is, or run as `user` against that user's systemd instance,
 * as NixOS's driver does: a login shell of the user with XDG_RUNTIME_DIR set.
 */
function asUser(script: string, user: string | undefined): string {
  if (user === undefined) return script;
  if (!USER_NAME.test(user)) throw new TypeError(`not a user name: ${JSON.stringify(user)}`);
  const session = `XDG_RUNTIME_DIR=/run/user/$(id -u); export XDG_RUNTIME_DIR; ${script}`;
  return `su -l -s /bin/sh -c ${shQuote(session)} ${user}`;
}

const systemctlOf = (user: string | undefined) =>
  user === undefined ? 'systemctl' : 'systemctl --user';

/** A caller's arguments: a string is split at whitespace, each word then passed as it is (no shell). */
export function systemctlWords(args: string | readonly string[]): string[] {
  return typeof args === 'string' ? args.split(/\s+/).filter(Boolean) : [...args];
}

/** systemctl with the caller's arguments, each one quoted. */
export function systemctlCommand(args: readonly string[], user?: string): string {
  return asUser([systemctlOf(user), ...args.map(shQuote)].join(' '), user);
}

/** Every property of a unit, one a line (`systemctl show`). */
export function unitInfoCommand(unit: string, user?: string): string {
  return systemctlCommand(['--no-pager', 'show', '--', unit], user);
}

/**
 * A unit's state, one property a line, and how many jobs the manager has
 * pending: NixOS's driver gives up on an inactive unit only once no job at
 * all is pending (the one that would start it may be queued behind others).
 */
export function unitStateCommand(unit: string, user?: string): string {
  const sc = systemctlOf(user);
  const state = asUser(
    `${sc} show -p LoadState -p ActiveState -p SubState -p Result -- ${shQuote(unit)}; echo "Jobs=$(${sc} list-jobs --no-legend 2>/dev/null | wc -l)"`,
    user,
  );
  // asUser refused any name that is not one plain word.
  return user === undefined
    ? state
    : `if id -u -- ${user} >/dev/null 2>&1; then ${state}; else echo NoSuchUser=1; fi`;
}

/** The unit's status and its journal's last lines, for a failure message. */
export function unitReportCommand(unit: string, user?: string): string {
  const u = shQuote(unit);
  const journal = user === undefined ? `-u ${u}` : `--user-unit ${u}`;
  return asUser(
    `${systemctlOf(user)} status --no-pager -l -- ${u} 2>&1; echo; journalctl --no-pager -o cat -n 20 ${journal} 2>&1`,
    user,
  );
}

/** `systemctl show` output as an object, property by property. */
export function parseUnitInfo(stdout: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) props[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return props;
}

/** What to do about a unit systemd does not know. */
export function unknownUnitHint(user?: string): string {
  return `check its name (\`${systemctlOf(user)} list-unit-files\` lists the units) and that the package that has it is installed`;
}

/**
 * As NixOS's wait_for_unit: active is done; failed fails, and so does
 * inactive with no job pending anywhere, or a unit systemd does not know;
 * anything else (activating, a manager not up yet) waits.
 */
export function unitVerdict(stdout: string, user?: string): Verdict {
  const p = parseUnitInfo(stdout);
  if (p.NoSuchUser) return { failed: `the guest has no user "${user}"` };
  if (p.ActiveState === 'active') return 'done';
  if (p.LoadState === 'not-found')
    return { failed: `systemd has no such unit; ${unknownUnitHint(user)}` };
  if (p.ActiveState === 'failed') return { failed: `the unit failed (${p.Result ?? 'no result'})` };
  if (p.ActiveState === 'inactive' && p.Jobs === '0')
    return { failed: 'the unit is inactive and no job is pending' };
  return 'wait';
}

/** Refuses a word that is no ActiveState before any guest is asked. */
export function checkActiveState(state: string): void {
  if (!(ACTIVE_STATES as readonly string[]).includes(state))
    throw new RangeError(
      `requireUnitState: "${state}" is not a unit state; states: ${ACTIVE_STATES.join(', ')}`,
    );
}

/** Why a unit is not in the state a test requires, or undefined when it is. */
export function stateMismatch(info: Record<string, string>, wanted: string): string | undefined {
  checkActiveState(wanted);
  const state = info.ActiveState;
  if (state === wanted) return undefined;
  const unknown = info.LoadState === 'not-found' ? ` (systemd has no such unit)` : '';
  return `the unit is ${state ?? 'in no state'}${unknown}, not ${wanted}`;
}

/**
 * The declared service a unit name stands for on a machine without systemd
 * ("api" or "api.service"), or undefined.
 */
export function declaredService(unit: string, services: readonly string[]): string | undefined {
  const name = unit.endsWith('.service') ? unit.slice(0, -'.service'.length) : unit;
  return services.includes(name) ? name : undefined;
}

/** The plugin's stage 2 states a service in one word (`services status`); this is what systemd would say. */
const SERVICE_STATES: Record<string, ActiveState> = {
  starting: 'activating',
  ready: 'active',
  failed: 'failed',
  exited: 'inactive',
};

/** getUnitInfo of a declared service without systemd: its state, and the supervisor's own word as SubState. */
export function serviceUnitInfo(name: string, word: string): Record<string, string> {
  const sub = word.trim();
  return {
    Id: `${name}.service`,
    LoadState: 'loaded',
    ActiveState: SERVICE_STATES[sub] ?? 'inactive',
    SubState: sub,
  };
}

/** Why a call needs systemd, for a machine that runs the plugin's stage 2. */
export function noSystemdMessage(what: string, services: readonly string[]): string {
  const declared = services.length
    ? `its declared services (${services.join(', ')}) take waitForUnit, getUnitInfo and requireUnitState`
    : 'it declares no services';
  return `${what}: the machine does not run systemd: its init is the plugin's stage 2, which starts the declared services once, at boot; ${declared}. Set "init": "systemd" with a Debian image for systemd's units`;
}
