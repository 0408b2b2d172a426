// Public API of the burst-mode stages. See README.md for what each stage guarantees and the record format.

export { BurstConfigError } from './errors';
export { BYTES_PER_SAMPLE, DEFAULT_SAMPLE_BUFFER_CAPACITY, SampleBuffer } from './sample-buffer';
export { MAX_RING_BYTES, RawRing, type RawRingConfig } from './raw-ring';
export { type AlarmCounters, AlarmDetector, type AlarmDetectorConfig, type AlarmEvent, type AlarmRule } from './alarm-detector';
export {
  BUDGET_WINDOW_MS,
  BurstRecorder,
  type BurstRecorderConfig,
  type BurstRecorderCounters,
  type BurstTagConfig,
  type Capture,
  DEFAULT_SLACK_MS,
  GAP_FACTOR,
  type IncompleteReason,
  MAX_CAPTURES_PER_HOUR,
  type TriggerOutcome,
} from './burst-recorder';
export { CAPTURE_RECORD_VERSION, type CaptureMeta, type CapturePart, encodeCaptureParts } from './capture-record';
