// The core's MQTT connections to AWS IoT Core, as the nucleus's MqttClient.java manages them: client
// ids `<thingName>`, `<thingName>#2`, `<thingName>#3` …; a cloud subscription goes to a connection
// that has fewer than MAX_SUBSCRIPTIONS_PER_CONNECTION, and a new connection is opened when none has
// room; a subscription already covered by a wider one on some connection takes no room; publishes go
// round-robin over all connections (MqttClient.getConnection(false); the spooler then prefers the
// least throttled connection, and with no throttling here the round-robin choice stands).

/** MqttClient.MAX_SUBSCRIPTIONS_PER_CONNECTION (IoT Core's limit per connection). */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 50;

interface Connection {
  /** MqttClient.getNextClientIdNumber: the lowest number no open connection uses. */
  readonly number: number;
  readonly clientId: string;
  /** Topic filters subscribed on this connection at IoT Core. */
  readonly filters: Map<string, number>;
}

/** A subscription that the core holds: the connection that carries it, and whether it took room there. */
export interface CloudSubscription {
  readonly clientId: string;
  readonly filter: string;
  /** False when a wider subscription already on that connection covers it (no SUBSCRIBE went out). */
  readonly subscribed: boolean;
}

export class MqttConnections {
  private readonly connections: Connection[] = [];
  private roundRobin = 0;

  constructor(private readonly thingName: string) {}

  /** The client ids of the open connections, in the order they were opened. */
  get clientIds(): string[] {
    return this.connections.map((c) => c.clientId);
  }

  /** MqttClient.subscribe: joins a connection whose subscription covers `filter`, or takes room on one. */
  subscribe(filter: string): CloudSubscription {
    const covering = this.connections.find((c) => [...c.filters.keys()].some((f) => filterCovers(f, filter)));
    if (covering !== undefined && !covering.filters.has(filter)) return { clientId: covering.clientId, filter, subscribed: false };
    const connection = covering ?? this.connectionFor(true);
    connection.filters.set(filter, (connection.filters.get(filter) ?? 0) + 1);
    return { clientId: connection.clientId, filter, subscribed: true };
  }

  /** The subscription ended (MqttClient.unsubscribe): the filter leaves its connection with its last subscriber. */
  unsubscribe(subscription: CloudSubscription): void {
    if (!subscription.subscribed) return;
    const connection = this.connections.find((c) => c.clientId === subscription.clientId);
    const count = connection?.filters.get(subscription.filter);
    if (connection === undefined || count === undefined) return;
    if (count > 1) connection.filters.set(subscription.filter, count - 1);
    else connection.filters.delete(subscription.filter);
  }

  /** The connection the next message goes out on (MqttClient.getConnection(false)). */
  publishClientId(): string {
    return this.connectionFor(false).clientId;
  }

  /** MqttClient.getConnection. */
  private connectionFor(forSubscription: boolean): Connection {
    const hasRoom = (c: Connection): boolean => c.filters.size < MAX_SUBSCRIPTIONS_PER_CONNECTION;
    if (this.connections.length === 0 || (forSubscription && !this.connections.some(hasRoom))) {
      return this.open();
    }
    // With more than one connection that has room, connections without any subscription are closed,
    // leaving at least one for publishing.
    if (this.connections.filter(hasRoom).length > 1) {
      for (const idle of this.connections.filter((c) => c.filters.size === 0)) {
        if (this.connections.length === 1) break;
        this.connections.splice(this.connections.indexOf(idle), 1);
      }
    }
    if (forSubscription) return this.connections.find(hasRoom)!;
    return this.connections[this.roundRobin++ % this.connections.length]!;
  }

  private open(): Connection {
    const used = new Set(this.connections.map((c) => c.number));
    let number = 0;
    while (used.has(number)) number++;
    // "Name client by thingName#<number> except for the first connection which will just be thingName".
    const clientId = number === 0 ? this.thingName : `${this.thingName}#${number + 1}`;
    const connection: Connection = { number, clientId, filters: new Map() };
    this.connections.push(connection);
    return connection;
  }
}

/** MqttTopic.isSupersetOf, level by level as the nucleus compares two filters. */
export function filterCovers(wide: string, narrow: string): boolean {
  if (wide === narrow) return true;
  const w = wide.split('/');
  const n = narrow.split('/');
  let i = 0;
  for (; i < Math.min(w.length, n.length); i++) {
    if (w[i] === '#') return true;
    if (w[i] === '+') continue;
    if (w[i] !== n[i]) return false;
  }
  return i >= n.length && i >= w.length;
}
