import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

/**
 * THE client address of an HTTP request or a websocket upgrade: the one function every transport
 * asks, so the throttles see one address per client whichever way it came in.
 *
 * `trustedHops` is TRUST_PROXY: how many proxies we run in front of the service. 0 (the default):
 * the TCP peer is the client, and X-Forwarded-For is ignored (anyone can write it). N > 0: the
 * peer is our nearest proxy, and each of our N proxies appended the address it saw to
 * X-Forwarded-For, so the client is the entry N hops from the peer, counting from the right; entries
 * further left were written by the client and are never believed. Set it only when the service
 * cannot be reached except through those proxies: a client connecting directly could then choose
 * its address.
 */
export function clientAddress(request: { socket: { remoteAddress?: string }; headers: IncomingHttpHeaders }, trustedHops: number): string {
  const peer = normalizeAddress(request.socket.remoteAddress ?? '') ?? 'unknown';
  if (trustedHops === 0) return peer;
  const header = request.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
  const chain = [...forwarded, peer];
  const chosen = chain[Math.max(0, chain.length - 1 - trustedHops)]!;
  // An entry our own proxy wrote that is not an address means a misconfigured proxy: fall back to the peer.
  return normalizeAddress(chosen) ?? peer;
}

/** An IP address in one spelling (IPv4-mapped IPv6 as IPv4, "ipv4:port" without the port); undefined if it is none. */
export function normalizeAddress(raw: string): string | undefined {
  let address = raw.trim();
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(address);
  if (withPort) address = withPort[1]!;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) address = mapped[1]!;
  return isIP(address.split('%')[0]!) ? address.toLowerCase() : undefined;
}
