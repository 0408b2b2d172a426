// A producer for conduit.FirehoseSink's end-to-end tests: a real aws-iot-device-sdk-v2 Greengrass IPC
// client, registered with the local core as a component with exact pubsub policies, that keeps every
// record until the sink acknowledges it and re-sends what stays unacknowledged, as the hand-off
// protocol (shared/handoff/protocol.ts) asks of a producer, so a put lost while the sink (re)starts is
// sent again. Used by sink.test.ts and sink-spool-disk.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cancel } from 'aws-crt';
import { greengrasscoreipc } from 'aws-iot-device-sdk-v2';
import { DEFAULT_ACK_TOPIC, DEFAULT_PUT_TOPIC, decodeAck, encodePut, type HandoffRecord } from '../../shared/handoff/protocol';
import type { LocalGreengrass } from '../harness/launcher/local-greengrass';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function deadline(ms = 5000): { cancelController: cancel.CancelController } {
  const cancelController = new cancel.CancelController();
  setTimeout(() => cancelController.cancel(), ms).unref();
  return { cancelController };
}

export class SinkProducer {
  readonly acked = new Set<string>();
  readonly rejected = new Map<string, string>();
  /** Every ack message addressed to this producer, in arrival order (to see a record acknowledged again). */
  readonly ackMessages: { stored: string[] }[] = [];
  /** Every record produce() made, in order (put() and deliver() do not add to it). */
  readonly sent: HandoffRecord[] = [];
  private producing: Promise<void> | undefined;
  private stopProducing = false;

  private constructor(
    private readonly client: greengrasscoreipc.Client,
    readonly name: string,
  ) {}

  static async connect(gg: LocalGreengrass, name = 'test.SinkProducer'): Promise<SinkProducer> {
    const svcuid = randomBytes(16).toString('hex');
    gg.ipc.addComponent(name, {
      svcuid,
      configuration: {
        accessControl: {
          'aws.greengrass.ipc.pubsub': {
            [`${name}:pubsub:1`]: { operations: ['aws.greengrass#PublishToTopic'], resources: [DEFAULT_PUT_TOPIC] },
            [`${name}:pubsub:2`]: { operations: ['aws.greengrass#SubscribeToTopic'], resources: [DEFAULT_ACK_TOPIC] },
          },
        },
      },
    });
    // The SDK reads where the nucleus is and who we are from the environment, as in a component.
    const saved = [process.env.AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT, process.env.SVCUID];
    process.env.AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT = gg.ipc.socketPath;
    process.env.SVCUID = svcuid;
    const client = greengrasscoreipc.createClient();
    const restore = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
    restore('AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT', saved[0]);
    restore('SVCUID', saved[1]);
    await Promise.race([client.connect(), sleep(5000).then(() => assert.fail('producer: no ConnectAck within 5 s'))]);
    const p = new SinkProducer(client, name);
    const acks = client.subscribeToTopic({ topic: DEFAULT_ACK_TOPIC }, deadline());
    acks.on('message', (m) => {
      const d = decodeAck(Buffer.from(m.binaryMessage?.message as Buffer));
      if (!d.ok || d.message.producer !== name) return;
      p.ackMessages.push({ stored: d.message.stored });
      for (const id of d.message.stored) p.acked.add(id);
      for (const r of d.message.rejected) p.rejected.set(r.id, r.reason);
    });
    await acks.activate();
    return p;
  }

  async put(records: HandoffRecord[]): Promise<void> {
    await this.client.publishToTopic({ topic: DEFAULT_PUT_TOPIC, publishMessage: { binaryMessage: { message: encodePut(this.name, records) } } }, deadline());
  }

  /** Puts the records `perMessage` at a time and re-sends the unacknowledged ones until all are acknowledged. */
  async deliver(records: HandoffRecord[], perMessage: number, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const open = records.filter((r) => !this.acked.has(r.id) && !this.rejected.has(r.id));
      if (open.length === 0) return;
      if (Date.now() > end) assert.fail(`${open.length} records never acknowledged`);
      for (let i = 0; i < open.length; i += perMessage) await this.put(open.slice(i, i + perMessage));
      await until('acks', 2_000, () => open.every((r) => this.acked.has(r.id) || this.rejected.has(r.id))).catch(() => undefined);
    }
  }

  /** Records sent and neither acknowledged nor rejected: what the producer still holds. */
  get holding(): HandoffRecord[] {
    return this.sent.filter((r) => !this.acked.has(r.id) && !this.rejected.has(r.id));
  }

  /**
   * In the background, every `everyMs`: a put of `perTick` new records (named `<prefix>-<n>`), then
   * one of everything still held (at most 50 per put), as a collector re-sends after its ack timeout.
   */
  produce(prefix: string, opts: { everyMs: number; perTick: number; bytes: number }): void {
    this.stopProducing = false;
    let n = 0;
    this.producing = (async () => {
      while (!this.stopProducing) {
        const fresh = records(`${prefix}-${String(n++).padStart(4, '0')}`, opts.perTick, opts.bytes);
        const resend = this.holding;
        this.sent.push(...fresh);
        await this.put(fresh).catch(() => undefined);
        for (let i = 0; i < resend.length; i += 50) await this.put(resend.slice(i, i + 50)).catch(() => undefined);
        await sleep(opts.everyMs);
      }
    })();
  }

  /** Ends produce(): no new records; returns once the loop stopped. */
  async stopNew(): Promise<void> {
    this.stopProducing = true;
    await this.producing;
  }

  /** Re-sends everything still held until all is acknowledged (or `timeoutMs` passes). */
  async drain(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const open = this.holding;
      if (open.length === 0) return;
      if (Date.now() > end) assert.fail(`${open.length} records never acknowledged`);
      for (let i = 0; i < open.length; i += 50) await this.put(open.slice(i, i + 50)).catch(() => undefined);
      await until('acks', 1_000, () => this.holding.length === 0).catch(() => undefined);
    }
  }

  /** Ends produce() if it runs, then closes the IPC connection. */
  async close(): Promise<void> {
    await this.stopNew();
    await this.client.close().catch(() => undefined);
  }
}

/** Records of about `bytes` bytes: one JSON line each, carrying its id. */
export function records(prefix: string, n: number, bytes = 500): HandoffRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}-${String(i).padStart(4, '0')}`;
    return { id, data: JSON.stringify({ id, pad: 'x'.repeat(Math.max(0, bytes - id.length - 20)) }) };
  });
}
