// Percent deadbands whose range is the server's EURange: which tags need one, what the OPC UA
// source reports for them once per session, and how the pipeline's verdict is logged.
//
// The flow: the source reads the EURange of every such tag right after connecting (opcua/eu-range.ts)
// and hands the readings to `reportEuRanges`, which applies them to the pipeline and logs what
// changed. Until a tag's range is known its points are sent with every change (deadband 0), so the
// read never holds data back; a tag the server has no usable EURange for stays that way.
import type { TagConfig } from './config-types';
import type { EuRangeOutcome, CollectorPipeline } from './pipeline';
import type { Logger } from './ports';

/** An OPC UA Range (Part 8, 5.6.2), the value of an AnalogItem's EURange property. */
export interface EuRange {
  low: number;
  high: number;
}

/** What one session's read found for one tag (its index in `tags`): the range, or why there is none. */
export type EuRangeReading = { tag: number; range: EuRange } | { tag: number; problem: string };

/** Receives the readings of one session, once, as soon as they are known (before or while data flows). */
export type EuRangeSink = (readings: readonly EuRangeReading[]) => void;

/** True for a percent deadband without rangeMin/rangeMax: its range is the node's EURange. */
export function needsEuRange(t: TagConfig): boolean {
  return t.mode === 'deadband' && t.deadband?.kind === 'percent' && (t.deadband.rangeMin === undefined || t.deadband.rangeMax === undefined);
}

/** The fix named in every log line about a missing EURange. */
export const EU_RANGE_FIX = 'set deadband.rangeMin and deadband.rangeMax of this tag in the configuration, or give the node an EURange';

/**
 * Applies one session's readings to the pipeline and logs each tag whose deadband changed: an error
 * (once, when it happens) for a tag left without a range, a warning for a tag that keeps the range
 * of an earlier session, a debug line per resolved tag and one info line for all of them.
 */
export function reportEuRanges(pipeline: CollectorPipeline, readings: readonly EuRangeReading[], logger: Logger): EuRangeOutcome[] {
  const outcomes = pipeline.applyEuRanges(readings);
  const tags = pipeline.config.tags;
  let resolved = 0;
  for (const o of outcomes) {
    const t = tags[o.tag];
    const fields = { tag: t?.name, nodeId: t?.nodeId };
    switch (o.kind) {
      case 'set':
        resolved++;
        logger.debug({ ...fields, euRange: o.range, deadband: o.deadband }, 'percent deadband resolved from the EURange');
        break;
      case 'noRange':
        logger.error(
          { ...fields, problem: o.problem, fix: EU_RANGE_FIX },
          `tag ${t?.name}: no usable EURange for its percent deadband (${o.problem}); its points are published with every change (deadband 0) until a range is known`,
        );
        break;
      case 'kept':
        logger.warn({ ...fields, problem: o.problem, deadband: o.deadband }, `tag ${t?.name}: the EURange could not be read again (${o.problem}); keeping the deadband from an earlier session`);
        break;
    }
  }
  if (resolved > 0) logger.info({ tags: resolved }, 'percent deadbands resolved from the EURange read from the server');
  return outcomes;
}
