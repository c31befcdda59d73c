// The machines' processes and sockets do not hold Node's event loop open (a
// forgotten machine must not keep a test run from ending), so while a call
// of the API is in progress this timer does: the awaiting test cannot end early.
let active = 0;
let timer: NodeJS.Timeout | undefined;

export async function keepAlive<T>(work: () => Promise<T>): Promise<T> {
  if (active++ === 0) timer = setInterval(() => undefined, 1 << 30);
  try {
    return await work();
  } finally {
    if (--active === 0) clearInterval(timer);
  }
}
