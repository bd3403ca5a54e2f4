// What a fuzz target is, and what counts as a finding (shared by the targets, the runner and the replay test).

export interface FuzzTarget {
  readonly name: string;
  /** Longest input the mutator makes. */
  readonly maxLen: number;
  /** Inputs to start from when the corpus is empty (valid messages, configs, requests). */
  seeds(): Uint8Array[];
  /** Runs one input; throws (or rejects) only for a finding. */
  run(input: Uint8Array): void | Promise<void>;
  /** Lets go of what the target set up for its runs (a server, a machine). */
  close?(): Promise<void>;
}

/** An unexpected error: what the input made the code under test do. */
export class Finding extends Error {
  constructor(
    readonly target: string,
    override readonly cause: unknown,
  ) {
    super(`${target}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`);
    this.name = 'Finding';
  }
}
