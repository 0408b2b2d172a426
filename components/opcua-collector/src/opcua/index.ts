// The OPC UA edge of the collector. Only the component's entry point builds a NodeOpcUaSource.
export { NodeOpcUaSource, type NodeOpcUaSourceOptions } from './source';
export { ServerTrustPolicy, thumbprintOf, type TrustVerdict } from './trust';
export { ensureClientCertificate, collectorApplicationUri, type ClientIdentity } from './certificates';
