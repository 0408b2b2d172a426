// The sink's I/O edges, each behind a small interface. Only index.ts builds the real ones (the AWS
// SDK's Firehose client, the Greengrass IPC client); the rest takes these, so it can be unit-tested
// with plain objects.
export type { IotCorePublisher, LocalPubSub, Logger, PublishFailure } from '../../../shared/edge/ports';

/** One record of a PutRecordBatch call that Firehose did not take (its index in the call). */
export interface FailedRecord {
  index: number;
  /** ServiceUnavailableException (throttled) or InternalFailure, as Firehose reports it. */
  code: string;
  message: string;
}

/**
 * Amazon Data Firehose's PutRecordBatch into the configured stream. Resolves with the records that
 * failed (the others were accepted); rejects with a SendError when the call failed as a whole.
 * Never called concurrently by the sender.
 */
export interface RecordBatchPutter {
  putRecordBatch(records: Buffer[], options?: { abortSignal?: AbortSignal }): Promise<{ failed: FailedRecord[] }>;
}
