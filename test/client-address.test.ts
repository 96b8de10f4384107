import { addressKey } from '../src/limits/address-key';
import { clientAddress, normalizeAddress } from '../src/graphql/client-address';

/** The one function that says who a client is (pure: a table of requests and TRUST_PROXY values). */
const request = (remoteAddress: string | undefined, forwardedFor?: string | string[]) => ({
  socket: { remoteAddress },
  headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
});

describe('clientAddress', () => {
  it.each([
    // [peer, X-Forwarded-For, TRUST_PROXY, client]
    ['203.0.113.9', undefined, 0, '203.0.113.9'],
    ['203.0.113.9', '198.51.100.1', 0, '203.0.113.9'],
    ['::ffff:203.0.113.9', undefined, 0, '203.0.113.9'],
    ['10.0.0.2', '198.51.100.1', 1, '198.51.100.1'],
    ['10.0.0.2', 'spoofed-by-client, 1.2.3.4, 198.51.100.1', 1, '198.51.100.1'],
    ['10.0.0.2', ['1.2.3.4', '198.51.100.1, 10.0.0.1'], 2, '198.51.100.1'],
    ['10.0.0.2', '198.51.100.1', 3, '198.51.100.1'],
    ['10.0.0.2', undefined, 1, '10.0.0.2'],
    ['10.0.0.2', 'not an address', 1, '10.0.0.2'],
    ['10.0.0.2', '198.51.100.1:5678', 1, '198.51.100.1'],
    ['10.0.0.2', '[2001:DB8::1]:443', 1, '2001:db8::1'],
    [undefined, undefined, 0, 'unknown'],
  ] as const)('peer %s, X-Forwarded-For %j, TRUST_PROXY %i: %s', (peer, forwarded, hops, expected) => {
    expect(clientAddress(request(peer, forwarded as string | string[] | undefined), hops)).toBe(expected);
  });

  it('normalizes spellings and refuses what is not an address', () => {
    expect(normalizeAddress('::FFFF:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('192.0.2.1:80')).toBe('192.0.2.1');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1%eth0');
    expect(normalizeAddress('<script>')).toBeUndefined();
    expect(normalizeAddress('')).toBeUndefined();
  });
});

describe('addressKey', () => {
  it('keys IPv4 by the address and IPv6 by its /64', () => {
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('unknown')).toBe('unknown');
  });
});
