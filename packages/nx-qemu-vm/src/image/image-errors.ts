// mmdebstrap's failures, said in terms of the machine's options: which
// package is missing from which suite, or that the mirror is out of reach.
import type { ToolError } from '../host/run-tool';
import type { ImagePlan } from './image-plan';

export class ImageBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageBuildError';
  }
}

const MISSING_PACKAGE = [
  /Unable to locate package (\S+)/g,
  /Package '?([^' ]+)'? has no installation candidate/g,
];
const NO_MIRROR =
  /Could not resolve|Temporary failure resolving|Failed to fetch|Could not connect|Connection failed|Network is unreachable/;

export function explainImageFailure(err: ToolError, plan: ImagePlan): Error {
  const missing = new Set<string>();
  for (const pattern of MISSING_PACKAGE)
    for (const m of err.stderr.matchAll(pattern)) missing.add(m[1]);
  if (missing.size)
    return new ImageBuildError(
      `Debian ${plan.suite} has no package ${[...missing].map((p) => `"${p}"`).join(', ')} (system.packages: ${plan.packages.join(', ')}); check the names with apt-cache policy <name>, or the suite (system.suite)`,
    );
  if (NO_MIRROR.test(err.stderr))
    return new ImageBuildError(
      `the image of Debian ${plan.suite} needs the Debian mirror (deb.debian.org), which could not be reached; system.from "host" needs no network. mmdebstrap said: ${lastLines(err.stderr)}`,
    );
  return new ImageBuildError(
    `mmdebstrap failed (status ${err.exitCode}): ${lastLines(err.stderr)}`,
  );
}

function lastLines(text: string, n = 6): string {
  return text.trim().split('\n').slice(-n).join('\n');
}
