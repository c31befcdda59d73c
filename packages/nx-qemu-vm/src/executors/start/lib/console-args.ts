// The serial console and QEMU's monitor share the terminal (Ctrl-A C switches,
// Ctrl-A X quits), and everything shown is also written to a log file.
// signal=off hands Ctrl-C to the guest's shell instead of killing QEMU.
import { qemuEscape } from '../../../quote/qemu';

export function serialConsoleArgs(logFile: string): string[] {
  const path = qemuEscape(logFile);
  return [
    '-chardev',
    `stdio,id=console0,mux=on,signal=off,logfile=${path}`,
    '-serial',
    'chardev:console0',
    '-mon',
    'chardev=console0,mode=readline',
  ];
}
