import net from 'node:net';

/** An IPv4/IPv6 address, or one with a /prefix that fits its family (10.0.0.0/8, ::1/128). */
export function isAddressOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined || net.isIP(address) === 0) return false;
  if (bits === undefined) return true;
  const max = net.isIPv6(address) ? 128 : 32;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}
