import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key a client address is rate-limited under. An IPv4 address is its own key. An IPv6 address
 * is keyed by its /64 prefix: one subscriber is routinely given a whole /64, so limiting single
 * IPv6 addresses would give an attacker 2^64 fresh budgets.
 */
export function addressKey(address: string): string {
  const bare = address.split('%')[0]!; // drop an IPv6 zone (fe80::1%eth0)
  if (!isIPv6(bare)) return address;
  return `${ipv6Groups(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const parts = (text: string) => (text ? text.split(':').flatMap(ipv4AsGroups) : []);
  const first = parts(head);
  const last = tail === undefined ? [] : parts(tail);
  const zeros = Array<string>(8 - first.length - last.length).fill('0');
  return [...first, ...zeros, ...last].map((g) => parseInt(g, 16).toString(16));
}

/** An embedded IPv4 tail ("::ffff:1.2.3.4") is two groups. */
function ipv4AsGroups(part: string): string[] {
  if (!isIPv4(part)) return [part];
  const [a, b, c, d] = part.split('.').map(Number) as [number, number, number, number];
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
