// The one error class of the reduction stages. It is thrown only while a stage is being
// constructed from its configuration; samples are never thrown at, they are dropped and counted.

/** A stage configuration is invalid: start-up stops, or a live update is rejected. */
export class ReductionConfigError extends Error {
  /** The tag number whose configuration is wrong, when one tag is at fault. */
  readonly tag: number | undefined;

  constructor(message: string, options?: { tag?: number; cause?: unknown }) {
    super(options?.tag === undefined ? message : `tag ${options.tag}: ${message}`, { cause: options?.cause });
    // Set explicitly: the bundler's minifier renames classes, so `constructor.name` is unreliable.
    this.name = 'ReductionConfigError';
    this.tag = options?.tag;
  }
}
