// Configured NodeIds as node-opcua NodeIds. `nsu=<namespace URI>;…` is the robust form: a server may
// renumber its namespaces when it restarts or its configuration changes, but a URI stays. node-opcua's
// resolveNodeId takes only `ns=<index>`, so the URI is looked up in the server's NamespaceArray,
// read once per connection (only when a tag uses the form).
import { type NodeId, resolveNodeId } from 'node-opcua-client';

const NSU = /^nsu=([^;]+);(.*)$/s;

/** True when some NodeId needs the server's NamespaceArray. */
export function needsNamespaces(nodeIds: readonly string[]): boolean {
  return nodeIds.some((n) => n.startsWith('nsu='));
}

/** Throws (with the reason) when the text is no NodeId or names a namespace the server does not have. */
export function toNodeId(text: string, namespaces: readonly string[]): NodeId {
  const m = NSU.exec(text);
  if (!m) return resolveNodeId(text);
  const index = namespaces.indexOf(m[1]!);
  if (index < 0) throw new Error(`the server has no namespace ${m[1]} (not in its NamespaceArray)`);
  return resolveNodeId(`ns=${index};${m[2]}`);
}
