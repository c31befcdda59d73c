// Nx stops at a 401 from its self-hosted cache, so our server answers a wrong
// token with a miss (GET 404) and a refused upload (PUT 403), which Nx passes
// over in silence. The warning that it happened comes from here: a cached
// step that is about to build asks the server whether it accepts the token.
export const TOKEN_CHECK_PATH = '/v1/nx-qemu-vm/token-check';

export type TokenVerdict = 'accepted' | 'read-only' | 'refused' | 'unknown';

/** 204: read-write; 403: read-only; 401: wrong or missing; anything else: a server that does not know the check. Pure. */
export function tokenVerdict(status: number): TokenVerdict {
  if (status === 204 || status === 200) return 'accepted';
  if (status === 403) return 'read-only';
  if (status === 401) return 'refused';
  return 'unknown';
}

export function tokenWarning(verdict: TokenVerdict, server: string): string | undefined {
  if (verdict === 'refused')
    return `warning: the remote cache ${server} refused NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN; this step is built here and kept in the local cache only. Check the token.`;
  if (verdict === 'read-only')
    return `warning: the remote cache ${server} accepts this token for downloads only; what is built here is not shared.`;
  return undefined;
}

/** Prints the warning when a remote cache is configured and refuses our token. Never fails the step. */
export async function warnIfRemoteCacheRefusesToken(
  env = process.env,
  warn: (line: string) => void = console.warn,
): Promise<void> {
  const server = env.NX_SELF_HOSTED_REMOTE_CACHE_SERVER;
  if (!server) return;
  try {
    const res = await fetch(`${server.replace(/\/+$/, '')}${TOKEN_CHECK_PATH}`, {
      headers: { Authorization: `Bearer ${env.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN ?? ''}` },
      signal: AbortSignal.timeout(3000),
    });
    const message = tokenWarning(tokenVerdict(res.status), server);
    if (message) warn(message);
  } catch {
    // Unreachable: Nx itself reports that, more precisely than we could.
  }
}
