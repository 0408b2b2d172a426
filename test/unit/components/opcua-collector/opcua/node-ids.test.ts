// toNodeId: `ns=` NodeIds as node-opcua reads them; `nsu=` looked up in the server's NamespaceArray,
// whose indices a server may change when it restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needsNamespaces, toNodeId } from '../../../../../components/opcua-collector/src/opcua/node-ids';

const NAMESPACES = ['http://opcfoundation.org/UA/', 'urn:plant:server', 'urn:plant:plc'];

test('nsu= takes the index of its URI in the NamespaceArray; ns= and no namespace are read as written', () => {
  assert.equal(toNodeId('nsu=urn:plant:plc;s=Motor.Running', NAMESPACES).toString(), 'ns=2;s=Motor.Running');
  assert.equal(toNodeId('nsu=urn:plant:server;i=1002', NAMESPACES).toString(), 'ns=1;i=1002');
  assert.equal(toNodeId('ns=3;s=Line1.Vib01', []).toString(), 'ns=3;s=Line1.Vib01');
  assert.equal(toNodeId('i=2258', []).toString(), 'ns=0;i=2258');
});

test('a namespace URI the server does not have is refused with the reason', () => {
  assert.throws(() => toNodeId('nsu=urn:elsewhere;s=X', NAMESPACES), /the server has no namespace urn:elsewhere/);
});

test('the NamespaceArray is read only when a tag needs it', () => {
  assert.equal(needsNamespaces(['ns=3;s=A', 'i=2258']), false);
  assert.equal(needsNamespaces(['ns=3;s=A', 'nsu=urn:plant:plc;s=B']), true);
});
