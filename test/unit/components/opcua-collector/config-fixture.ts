// The keys every test configuration of the collector shares; each test adds its own tags and settings.
export const BASE_CONFIG = {
  endpointUrl: 'opc.tcp://plc.plant.local:4840',
  serverTrust: { thumbprints: ['0123456789abcdef0123456789abcdef01234567'] },
  credentialsSecretId: 'conduit/opcua-collector',
  site: 'lyon',
  area: 'line-1',
  mappingVersion: '7',
} as const;
