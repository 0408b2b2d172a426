// The messages between the plant's controller (plant.ts, in the test process) and the plant process
// (plant-process.ts), carried over Node's IPC channel. Both sides import this file only for types
// and names, so the two cannot drift apart.

import type { AmplitudeStep, SignalParams, TagCounts } from './signals';

/** The security policies the plant can offer with SignAndEncrypt, by their OPC UA short names. */
export type PlantSecurityPolicy = 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss';

export interface PlantUser {
  username: string;
  password: string;
}

/** The limits a client must chunk its requests by; exposed in Server/ServerCapabilities/OperationLimits. */
export interface PlantOperationLimits {
  maxNodesPerRead?: number;
  maxMonitoredItemsPerCall?: number;
  maxNodesPerBrowse?: number;
  maxNodesPerRegisterNodes?: number;
}

/** Everything the plant process needs to start; fully resolved by the controller (no defaults left). */
export interface PlantConfig {
  /** 0 on a first start picks a free port; a restart passes the port it got. */
  port: number;
  /** The server's PKI store (own certificate and key, trusted and rejected client certificates). */
  pkiDir: string;
  seed: number;
  tags: TagCounts;
  signals: SignalParams;
  steps: AmplitudeStep[];
  users: PlantUser[];
  allowInsecure: boolean;
  securityPolicies: PlantSecurityPolicy[];
  trustClientCertificates: 'all' | 'explicit';
  /**
   * How an untrusted client certificate is refused (with 'explicit'): 'status' is node-opcua's own
   * way (an OpenSecureChannel error, BadSecurityChecksFailed); 'close-socket' closes the TCP
   * connection without an answer, as open62541 does.
   */
  untrustedClient: 'status' | 'close-socket';
  /**
   * Tags (full names, `Line1.Vib01`) whose notifications carry no source timestamp, and tags whose
   * notifications carry no timestamp at all, as some foreign servers send them.
   */
  timestamps: { withoutSource: string[]; withoutAny: string[] };
  operationLimits: PlantOperationLimits;
  /** Server-side cap on notifications per Publish response; undefined keeps node-opcua's (1000). */
  maxNotificationsPerPublish: number | undefined;
}

/** What the plant counts: every service request it receives, before any check can reject it. */
export interface RequestCounts {
  write: number;
  call: number;
  historyUpdate: number;
  read: number;
  createMonitoredItems: number;
  createSubscription: number;
  createSession: number;
  activateSession: number;
  /** Sessions open right now. */
  currentSessions: number;
  /** Every request, by its OPC UA type name (`WriteRequest`, `BrowseRequest`, …). */
  byType: Record<string, number>;
}

export type PlantCommand =
  | { op: 'setPassword'; username: string; password: string }
  | { op: 'stepAmplitude'; tag: string; amplitude: number }
  | { op: 'trustClientCertificate'; derBase64: string }
  | { op: 'requestCounts' }
  | { op: 'pause' }
  | { op: 'resume' }
  | { op: 'stop' };

export type ToPlant = { kind: 'start'; config: PlantConfig } | { kind: 'command'; id: number; command: PlantCommand };

export interface PlantReady {
  kind: 'ready';
  port: number;
  endpointUrl: string;
  certificatePem: string;
}

export type FromPlant =
  | PlantReady
  | { kind: 'reply'; id: number; ok: true; result: unknown }
  | { kind: 'reply'; id: number; ok: false; error: string }
  | { kind: 'failed'; error: string };
