// Which subscriptions a published topic reaches. Subscriptions (to IoT Core and to local pub/sub alike)
// are MQTT topic filters: `+` is one whole level, `#` as the last level is that level's parent and
// everything below it. This is delivery, not authorization; see authorization.ts for policy matching.

export function hasMqttWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

export function topicMatchesFilter(filter: string, topic: string): boolean {
  const want = filter.split('/');
  const got = topic.split('/');
  for (let i = 0; i < want.length; i++) {
    const level = want[i]!;
    if (level === '#' && i === want.length - 1) return true;
    if (i >= got.length) return false;
    if (level !== '+' && level !== got[i]) return false;
  }
  return want.length === got.length;
}
