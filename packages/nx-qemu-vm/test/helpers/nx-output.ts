// Reading what Nx printed, in tests.

/** Task -> 'ran' or 'cached', from Nx's plain (NX_TUI=false) output. */
export function taskOutcomes(output: string): Record<string, 'ran' | 'cached'> {
  const out: Record<string, 'ran' | 'cached'> = {};
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  for (const m of plain.matchAll(/^\S*\s*nx run (\S+?)(?:\s+\[(.+)\])?\s*$/gm))
    out[m[1]] = m[2] && /cache/.test(m[2]) ? 'cached' : 'ran';
  return out;
}
