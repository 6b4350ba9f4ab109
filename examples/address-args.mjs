// Turns command-line words into an hvsock address, so the same scripts run
// on a Windows host and in a Linux or Windows guest:
//   machine: parent | loopback | any | children | <cid> | <vm GUID>
//   service: <port> | <service GUID>
import { HV_GUID_CHILDREN, HV_GUID_LOOPBACK, HV_GUID_PARENT, HV_GUID_WILDCARD, isGuid } from 'hvsock';

const MACHINES = { parent: HV_GUID_PARENT, loopback: HV_GUID_LOOPBACK, any: HV_GUID_WILDCARD, children: HV_GUID_CHILDREN };

export function machinePart(word) {
  if (word in MACHINES) return { vmId: MACHINES[word] };
  if (isGuid(word)) return { vmId: word };
  if (/^\d+$/.test(word)) return { cid: Number(word) };
  throw new Error(`not a machine: ${word} (parent, loopback, any, children, a CID or a VM GUID)`);
}

export function servicePart(word) {
  if (isGuid(word)) return { serviceId: word };
  if (/^\d+$/.test(word)) return { port: Number(word) };
  throw new Error(`not a service: ${word} (a port number or a service GUID)`);
}
