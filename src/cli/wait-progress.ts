// How a client command shows a wait for users (unregister, mdev remove, unbind) once the server accepted it and
// sent its first request: on a terminal one line rewritten in place (a spinner, the requests sent, the time
// waited); elsewhere (a pipe, a log) one plain line per request. Nothing is printed before the server's first
// progress line, so a refused request (ENODEV, EBUSY) prints only its error.

/** Where the rewritten line goes: the terminal (process.stdout when it is a TTY). */
export interface TtyLike {
  write(s: string): unknown;
}

export interface WaitDisplay {
  /** The server sent request `count` (0, 1, ...). */
  request(count: number): void;
  /** The wait ended (done or failed): the rewritten line is cleared. Safe to repeat. */
  done(): void;
}

const SPINNER = ['|', '/', '-', '\\'] as const;
const REDRAW_MS = 200;

/**
 * A display for the wait of `device`: `heading` is the first line's text ("unregistering vfio0: waiting for its users
 * to let go"), `line(count)` a plain request line.
 */
export function waitDisplay(
  out: (line: string) => void,
  tty: TtyLike | null,
  heading: string,
  line: (count: number) => string,
  now: () => number = Date.now,
): WaitDisplay {
  let started: number | null = null;
  let requests = 0;
  let frame = 0;
  let timer: NodeJS.Timeout | null = null;
  const draw = (): void => {
    if (tty === null || started === null) return;
    const secs = ((now() - started) / 1000).toFixed(1);
    tty.write(`\r\x1b[K${SPINNER[frame++ % SPINNER.length] ?? '|'} ${heading} (${requests} request${requests === 1 ? '' : 's'} sent, ${secs} s)`);
  };
  return {
    request(count) {
      requests = count + 1;
      if (started === null) {
        started = now();
        if (tty === null) out(heading);
        else {
          timer = setInterval(draw, REDRAW_MS);
          // A finished command must not wait for the next redraw.
          timer.unref();
        }
      }
      if (tty === null) out(line(count));
      else draw();
    },
    done() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      if (tty !== null && started !== null) tty.write('\r\x1b[K');
      started = null;
    },
  };
}
