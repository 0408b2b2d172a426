// The one error class of the burst stages. It is thrown while a stage is being constructed from its
// configuration, and by encodeCaptureParts when the record size limit cannot hold one sample.
// Samples and triggers are never thrown at: what cannot be used is ignored or skipped and counted.

/** A burst setting is invalid: start-up stops, or a live update is rejected. */
export class BurstConfigError extends Error {
  /** The tag number whose configuration is wrong, when one tag is at fault. */
  readonly tag: number | undefined;
  /** The configuration field at fault, e.g. `cooldownMs`, when one is. */
  readonly field: string | undefined;

  constructor(message: string, options?: { tag?: number; field?: string; cause?: unknown }) {
    const where = [options?.tag === undefined ? '' : `tag ${options.tag}`, options?.field ?? ''].filter((s) => s !== '').join(' ');
    super(where === '' ? message : `${where}: ${message}`, { cause: options?.cause });
    // Set explicitly: the bundler's minifier renames classes, so `constructor.name` is unreliable.
    this.name = 'BurstConfigError';
    this.tag = options?.tag;
    this.field = options?.field;
  }
}

/** Throws unless `x` is a finite number >= 0 (durations, tolerances). */
export function checkDuration(x: unknown, field: string, tag?: number): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) {
    throw new BurstConfigError(`must be a finite number of ms >= 0, got ${String(x)}`, { field, ...(tag === undefined ? {} : { tag }) });
  }
  return x;
}
