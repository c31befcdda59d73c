// The Machine's systemd calls, as NixOS's test driver has them (systemctl,
// waitForUnit, getUnitInfo, requireUnitState, startJob, stopJob), on what
// the machine lends them: its commands and its polling wait. On a machine
// whose init is the plugin's stage 2, a declared service's name stands for
// its unit where that makes sense, and the rest is refused, saying why.
import { NoSystemdError, UnitError } from './errors';
import { serviceStatusCommand } from './guest-commands';
import type { Verdict } from './readiness';
import * as systemd from './systemd';
import type { ExecuteResult, WaitOptions } from './types';

export interface UserOption {
  /** That user's own systemd instance (`systemctl --user`), as NixOS's driver reaches it. */
  user?: string;
}

/** What a Machine lends its systemd calls. */
export interface SystemdGuest {
  name: string;
  consoleLog: string;
  systemd: boolean;
  services: readonly string[];
  execute(command: string, options: WaitOptions): Promise<ExecuteResult<string>>;
  succeed(command: string): Promise<string>;
  waitForService(name: string, options: WaitOptions): Promise<void>;
  /** Polls `command` until `verdict` says done; a failure is a UnitError of `unit`, with the report. */
  poll(
    what: string,
    options: WaitOptions,
    command: string,
    verdict: (stdout: string) => Verdict,
    report: { command: string; title: string },
    unit: string,
  ): Promise<void>;
  /** Rejects with `err`, keeping the machine's artifacts. */
  failed(err: unknown): Promise<never>;
}

export async function systemctl(
  guest: SystemdGuest,
  what: string,
  words: readonly string[],
  options: WaitOptions & UserOption,
): Promise<{ status: number; stdout: string }> {
  if (!guest.systemd)
    throw new NoSystemdError(guest.name, systemd.noSystemdMessage(what, guest.services));
  const r = await guest.execute(systemd.systemctlCommand(words, options.user), options);
  return { status: r.status, stdout: r.stdout };
}

/** Without systemd, the declared service a unit name stands for; refuses any other. */
function unitAsService(guest: SystemdGuest, what: string, unit: string, user?: string) {
  if (guest.systemd) return undefined;
  const service = user === undefined ? systemd.declaredService(unit, guest.services) : undefined;
  if (service) return service;
  throw new NoSystemdError(guest.name, systemd.noSystemdMessage(what, guest.services));
}

export async function waitForUnit(
  guest: SystemdGuest,
  unit: string,
  options: WaitOptions & UserOption,
): Promise<void> {
  const { user } = options;
  const what = `waitForUnit(${JSON.stringify(unit)}${user ? `, user ${user}` : ''})`;
  const service = unitAsService(guest, what, unit, user);
  if (service) return guest.waitForService(service, options);
  const report = {
    command: systemd.unitReportCommand(unit, user),
    title: 'systemctl status and journal',
  };
  const verdict = (stdout: string) => systemd.unitVerdict(stdout, user);
  return guest.poll(what, options, systemd.unitStateCommand(unit, user), verdict, report, unit);
}

export async function getUnitInfo(
  guest: SystemdGuest,
  unit: string,
  options: UserOption,
): Promise<Record<string, string>> {
  const service = unitAsService(guest, `getUnitInfo(${JSON.stringify(unit)})`, unit, options.user);
  if (service)
    return systemd.serviceUnitInfo(service, await guest.succeed(serviceStatusCommand(service)));
  return systemd.parseUnitInfo(await guest.succeed(systemd.unitInfoCommand(unit, options.user)));
}

export async function requireUnitState(
  guest: SystemdGuest,
  unit: string,
  state: string,
  options: UserOption,
): Promise<void> {
  systemd.checkActiveState(state);
  const why = systemd.stateMismatch(await getUnitInfo(guest, unit, options), state);
  const what = `requireUnitState(${JSON.stringify(unit)}, ${JSON.stringify(state)})`;
  if (why)
    return guest.failed(new UnitError(guest.name, unit, `${what}: ${why}`, guest.consoleLog));
}
