// The interactive driver: `npx nx-qemu-vm repl server client` boots the
// machines and opens a Node REPL with each of them in scope by name (and all
// of them in `machines`), as NixOS's interactive test driver does. Top-level
// await works; `.exit` (or Ctrl-D) shuts the machines down.
import { start } from 'node:repl';
import type { Readable, Writable } from 'node:stream';
import { type StartOptions, startMachines } from './start-machines';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export async function startRepl(
  names: string[],
  options: StartOptions,
  io: { input: Readable; output: Writable } = { input: process.stdin, output: process.stdout },
): Promise<void> {
  const vms = await startMachines(names, {
    ...options,
    log: (text) => io.output.write(text),
  });
  const scope: Record<string, unknown> = { machines: vms.machines, vms };
  for (const [name, machine] of Object.entries(vms.machines))
    if (IDENTIFIER.test(name)) scope[name] = machine;
  io.output.write(
    `\nmachines up: ${names.join(', ')}. In scope: ${Object.keys(scope).join(', ')}.\n` +
      `Try: await ${IDENTIFIER.test(names[0]) ? names[0] : `machines['${names[0]}']`}.succeed('uname -a')\n` +
      `.exit shuts them down.\n`,
  );
  const server = start({
    prompt: 'nx-qemu-vm> ',
    input: io.input,
    output: io.output,
    terminal: (io.input as { isTTY?: boolean }).isTTY === true,
    useGlobal: false,
  });
  Object.assign(server.context, scope);
  await new Promise<void>((resolve) => server.once('exit', resolve));
  io.output.write('shutting the machines down\n');
  await vms.shutdown();
}
