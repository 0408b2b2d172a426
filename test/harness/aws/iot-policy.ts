// A small AWS IoT Core policy evaluator, for checking conduit's IoT policy template against the MQTT
// connections a Greengrass core really opens. It copies the documented rules and refuses what it does
// not model (Condition, NotAction, NotResource) instead of guessing:
// - An explicit Deny in any statement wins; otherwise any Allow grants; otherwise the request is
//   refused (implicit deny) (IoT Core developer guide, "AWS IoT Core policies"; IAM evaluation logic).
// - Actions match case-insensitively and may hold `*`; resources are ARNs matched case-sensitively,
//   where `*` is any run of characters (also none) and `?` one character. MQTT's `+` and `#` are
//   literal in IoT Core policies.
// - Policy variables: `${iot:ClientId}` is the connection's client id. `${iot:Connection.Thing.ThingName}`
//   is the thing attached to the connecting certificate, and resolves only when the client id is
//   exactly that thing's name, unless the thing is attached exclusively (AttachThingPrincipal with
//   EXCLUSIVE_THING), where the certificate alone decides (IoT Core guide, "Thing policy variables").
//   `${*}`, `${?}`, `${$}` are the literal characters. A substituted value is literal: a client id
//   holding `*` is no wildcard.
// - A variable that cannot be resolved invalidates the statement that holds it (IAM user guide,
//   "Policy variables": "If AWS cannot resolve a variable this might cause the entire statement to be
//   invalid"): it then neither allows nor denies.
// The Greengrass developer guide adds that thing policy variables are not supported in core devices'
// policies; the nucleus's extra connections (`<thing>#2`, … in MqttClient.java) are where that bites.

export type IotAction = 'iot:Connect' | 'iot:Publish' | 'iot:Subscribe' | 'iot:Receive' | 'iot:RetainPublish';

export interface IotPolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Sid?: string;
}

export interface IotPolicyDocument {
  Version: string;
  Statement: IotPolicyStatement[];
}

/** The MQTT connection a request comes over. */
export interface IotConnection {
  clientId: string;
  /** The thing attached to the certificate the device presented; none for an unregistered device. */
  thing?: { name: string; exclusive?: boolean };
}

export interface IotRequest {
  action: IotAction;
  /** The full ARN: client/<clientId> for Connect, topic/<topic> for Publish, Receive and RetainPublish, topicfilter/<filter> for Subscribe. */
  resource: string;
  connection: IotConnection;
}

export type IotDecision = 'allow' | 'explicit-deny' | 'implicit-deny';

/** Thing names AWS IoT accepts (CreateThing: 1 to 128 of letters, digits, `:`, `_`, `-`). No `#`. */
export const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;

/** IoT Core's limit on an MQTT client id, in UTF-8 bytes. */
export const MAX_CLIENT_ID_BYTES = 128;

/** The ARNs a request names, in one account and Region. */
export function iotArns(region: string, account: string) {
  const base = `arn:aws:iot:${region}:${account}`;
  return {
    client: (clientId: string) => `${base}:client/${clientId}`,
    topic: (topic: string) => `${base}:topic/${topic}`,
    topicFilter: (filter: string) => `${base}:topicfilter/${filter}`,
  };
}

/**
 * The client ids a Greengrass core's nucleus uses for its MQTT connections: the thing name for the
 * first, then `<thing>#2`, `<thing>#3`, … (MqttClient.java: one more connection per 50 subscriptions).
 */
export function nucleusClientIds(thingName: string, connections: number): string[] {
  if (!THING_NAME.test(thingName)) throw new Error(`${JSON.stringify(thingName)} is not a valid thing name (1-128 of a-z A-Z 0-9 : _ -)`);
  const ids = [thingName];
  for (let n = 2; n <= connections; n++) ids.push(`${thingName}#${n}`);
  for (const id of ids) {
    if (Buffer.byteLength(id) > MAX_CLIENT_ID_BYTES) throw new Error(`client id ${id} is longer than ${MAX_CLIENT_ID_BYTES} bytes`);
  }
  return ids;
}

const list = (x: string | string[]): string[] => (Array.isArray(x) ? x : [x]);

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** `*` and `?` of the policy text as wildcards, the rest (and every substituted value) literal. */
function policyTextToRegExpSource(text: string): string {
  let out = '';
  for (const ch of text) out += ch === '*' ? '.*' : ch === '?' ? '.' : escapeRegExp(ch);
  return out;
}

/** The variable's value for this connection, or undefined when it does not resolve. */
function variableValue(name: string, c: IotConnection): string | undefined {
  switch (name) {
    case '*':
    case '?':
    case '$':
      return name;
    case 'iot:ClientId':
      return c.clientId;
    case 'iot:Connection.Thing.ThingName':
      if (!c.thing) return undefined;
      return c.thing.exclusive || c.clientId === c.thing.name ? c.thing.name : undefined;
    default:
      throw new Error(`policy variable \${${name}} is not modelled by this evaluator`);
  }
}

/** A resource pattern with its variables resolved, as a RegExp; undefined when a variable does not resolve. */
function resourcePattern(resource: string, c: IotConnection): RegExp | undefined {
  let source = '';
  let rest = resource;
  for (;;) {
    const at = rest.indexOf('${');
    if (at < 0) break;
    const end = rest.indexOf('}', at);
    if (end < 0) throw new Error(`unterminated policy variable in ${resource}`);
    source += policyTextToRegExpSource(rest.slice(0, at));
    const value = variableValue(rest.slice(at + 2, end), c);
    if (value === undefined) return undefined;
    source += escapeRegExp(value);
    rest = rest.slice(end + 1);
  }
  source += policyTextToRegExpSource(rest);
  return new RegExp(`^${source}$`, 's');
}

function actionMatches(pattern: string, action: string): boolean {
  return new RegExp(`^${policyTextToRegExpSource(pattern)}$`, 'i').test(action);
}

function checkStatement(s: IotPolicyStatement): void {
  const keys = Object.keys(s);
  for (const k of keys) {
    if (!['Sid', 'Effect', 'Action', 'Resource'].includes(k)) throw new Error(`statement ${s.Sid ?? ''}: ${k} is not modelled by this evaluator`);
  }
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw new Error(`statement ${s.Sid ?? ''}: Effect ${String(s.Effect)}`);
}

/** Whether the statement applies to the request: undefined when a variable in it does not resolve. */
function statementApplies(s: IotPolicyStatement, r: IotRequest): boolean | undefined {
  if (!list(s.Action).some((a) => actionMatches(a, r.action))) return false;
  const patterns = list(s.Resource).map((res) => resourcePattern(res, r.connection));
  if (patterns.some((p) => p === undefined)) return undefined;
  return patterns.some((p) => p!.test(r.resource));
}

/** How IoT Core decides the request under the policies attached to the certificate. */
export function evaluateIotPolicies(policies: IotPolicyDocument[], r: IotRequest): IotDecision {
  let allowed = false;
  for (const p of policies) {
    if (p.Version !== '2012-10-17') throw new Error(`policy Version ${p.Version}`);
    for (const s of p.Statement) {
      checkStatement(s);
      if (statementApplies(s, r) !== true) continue;
      if (s.Effect === 'Deny') return 'explicit-deny';
      allowed = true;
    }
  }
  return allowed ? 'allow' : 'implicit-deny';
}
