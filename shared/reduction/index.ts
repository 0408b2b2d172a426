// Public API of the edge reduction stages. See README.md for what each stage guarantees.

export { type Emit, type StageCounters } from './contracts';
export { ReductionConfigError } from './errors';
export { STATUS_BAD, STATUS_GOOD, STATUS_UNCERTAIN, Severity, isBad, isGood, isUncertain, isValidStatusCode, severity } from './status';
export { Gate, type GateCode, type GateDropReason, MAX_TAGS, SampleGate, type SampleGateConfig, type SampleGateCounters, type SampleKind, passes } from './sample-gate';
export {
  DEFAULT_MAX_PENDING_WINDOWS,
  DEFAULT_SAMPLING_INTERVAL_MS,
  DEFAULT_WINDOW_MS,
  MAX_WINDOW_MS,
  type RmsDropReason,
  type RmsTagConfig,
  RmsWindow,
  type RmsWindowConfig,
  type RmsWindowCounters,
  type RmsWindowRecord,
  type RmsWindowStatus,
} from './rms-window';
export { DEFAULT_MAX_PENDING_POINTS, type EncoderCounters, type EncoderDropReason, type PointReason } from './point-queue';
export { DeadbandEncoder, type DeadbandEncoderConfig, type DeadbandPoint, type DeadbandTagConfig } from './deadband-encoder';
export { ChangeEncoder, type ChangeEncoderConfig, type ChangePoint, type ChangeTagConfig, type ChangeValue } from './change-encoder';
