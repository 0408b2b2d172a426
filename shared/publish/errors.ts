// The one error class of the publish helpers. It is thrown only while something is being built
// from configuration (an encoder, an outbox, a topic, a mapping message); rows and messages are
// never thrown at: what cannot be published is dropped and counted.

/** A publish setting is invalid: start-up stops, or a live update is rejected. */
export class PublishConfigError extends Error {
  /** The configuration field at fault, e.g. `publish.topic`, when one is. */
  readonly field: string | undefined;

  constructor(message: string, options?: { field?: string; cause?: unknown }) {
    super(options?.field === undefined ? message : `${options.field}: ${message}`, { cause: options?.cause });
    // Set explicitly: the bundler's minifier renames classes, so `constructor.name` is unreliable.
    this.name = 'PublishConfigError';
    this.field = options?.field;
  }
}
