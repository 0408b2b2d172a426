// Public API of the publish helpers. See README.md for what each piece guarantees.

export { PublishConfigError } from './errors';
export { DEFAULT_SIGNIFICANT_DIGITS, MAX_SIGNIFICANT_DIGITS, formatNumber } from './number-format';
export {
  BatchEncoder,
  type BatchEncoderConfig,
  type BatchEncoderCounters,
  CHANGE_COLUMNS,
  DEADBAND_COLUMNS,
  DEFAULT_MAX_PENDING_ROWS,
  type EncodedMessage,
  MAX_PAYLOAD_BYTES,
  MIN_MESSAGE_BYTES,
  RMS_BASE_COLUMNS,
  RMS_STATISTICS,
  RMS_STATUS_NAMES,
  type RmsStatistic,
  type RowDropReason,
  SCHEMA_VERSION,
  STREAM_NAMES,
  type StreamCounters,
  type StreamName,
  formatTime,
} from './batch-encoder';
export { type DroppedMessage, Outbox, type OutboxConfig, type OutboxCounters, type OutboxMessage, type QueuedMessage } from './outbox';
export { IOT_CORE_PUBLISHES_PER_SECOND, RateBudget, type RateBudgetConfig } from './rate-budget';
export { MAX_TOPIC_BYTES, MAX_TOPIC_SLASHES, type TopicValues, expandTopic, topicIssue, topicProblem } from './topics';
export { type MappingInput, type MappingPart, type MappingTag, buildMappingMessages, mappingPartTopic } from './mapping-message';
