import net from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * What the upstream is told about the client (X-Forwarded-For/-Proto/-Host/-Port). A client can
 * write these headers itself, so they are believed only from a peer in forwarded.trust (a load
 * balancer in front of the proxy); from anyone else they are replaced, and X-Real-IP and
 * Forwarded, which the proxy does not write, are removed. Envoy's xff_num_trusted_hops idea,
 * by address instead of by count.
 */
export interface PeerTrust {
  /** true when the peer's own forwarding headers are believed */
  trusts(address: string | undefined): boolean;
}

const NONE: PeerTrust = { trusts: () => false };

/** entries: IPs or CIDRs, already checked by isAddressOrCidr (config validation) */
export function buildPeerTrust(entries: readonly string[]): PeerTrust {
  if (entries.length === 0) return NONE;
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/');
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return {
    trusts(address) {
      if (address === undefined) return false;
      // an IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d
      const plain = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
      return list.check(plain, net.isIPv6(plain) ? 'ipv6' : 'ipv4');
    },
  };
}

/** Sets the X-Forwarded-* headers the upstream reads; believes the client's own only from a trusted peer. */
export function setForwardedHeaders(req: IncomingMessage, trust: PeerTrust): void {
  const headers = req.headers;
  const address = req.socket.remoteAddress ?? '';
  const proto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  if (trust.trusts(req.socket.remoteAddress)) {
    const prior = headers['x-forwarded-for'];
    headers['x-forwarded-for'] = prior ? `${prior}, ${address}` : address;
    headers['x-forwarded-proto'] ??= proto;
    headers['x-forwarded-host'] ??= headers.host ?? '';
    headers['x-forwarded-port'] ??= String(req.socket.localPort ?? '');
    return;
  }
  headers['x-forwarded-for'] = address;
  headers['x-forwarded-proto'] = proto;
  headers['x-forwarded-host'] = headers.host ?? '';
  headers['x-forwarded-port'] = String(req.socket.localPort ?? '');
  if (headers['x-real-ip'] !== undefined) delete headers['x-real-ip'];
  if (headers.forwarded !== undefined) delete headers.forwarded;
}
