// The `vfio-ts` exit codes, shared by serve and the client commands.

/** Clean exit. */
export const EXIT_OK = 0;
/** A runtime failure, a failed client command, or sanitizer findings at exit. */
export const EXIT_FAILURE = 1;
/** A bad configuration (the message names the key). */
export const EXIT_CONFIG = 2;
/** A second SIGINT/SIGTERM forced the exit without cleanup (128 + SIGINT, as shells report it). */
export const EXIT_FORCED = 130;
