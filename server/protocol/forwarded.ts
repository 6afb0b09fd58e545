// Where a request came from when Coffer sits behind a TLS-terminating proxy (an ingress, a load balancer, a mesh):
// the client's address (aws:SourceIp, the audit record's sourceIPAddress) and whether it arrived over TLS
// (aws:SecureTransport). X-Forwarded-For and X-Forwarded-Proto, or instead RFC 7239's Forwarded
// (COFFER_FORWARDED_HEADER), are believed only from the proxies named in COFFER_TRUSTED_PROXIES; from anyone else they
// are ignored, since a client can send them itself. Which header is read is configured, never guessed: a proxy that
// sets one passes the other through as the client sent it.
import { inIpRange, parseIp, parseIpRange, plainAddress, type IpRange } from '../../core/ip-address.js';

export interface ClientOrigin {
  /** The client's address; the TCP peer's when no trusted proxy forwarded the request. */
  sourceIp: string | null;
  /** Whether the client's connection used TLS: as the trusted proxy says, else false (Coffer serves plain HTTP). */
  secureTransport: boolean;
}

/** Answers whether an address is one of the trusted proxies. */
export type ProxyTrust = (address: string) => boolean;

export const TRUST_NONE: ProxyTrust = () => false;

/**
 * Trusted proxies from entries that are addresses or CIDR ranges, IPv4 or IPv6 ("10.0.0.0/8", "::1", "fd00::/8");
 * throws on the first entry that is neither, naming it.
 */
export function proxyTrust(entries: readonly string[]): ProxyTrust {
  if (entries.length === 0) return TRUST_NONE;
  const ranges: IpRange[] = entries.map((entry) => {
    const range = parseIpRange(entry);
    if (range === null) throw new TypeError(`not an IP address or CIDR range: '${entry.slice(0, 64)}'`);
    return range;
  });
  return (address) => {
    const parsed = parseIp(address);
    return parsed !== null && ranges.some((range) => inIpRange(parsed, range));
  };
}

/** One X-Forwarded-For element as an address: brackets and a port taken off; null when it is not an address. */
function forwardedAddress(element: string): string | null {
  let a = element.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1] as string;
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(':'));
  return parseIp(a) === null ? null : plainAddress(a);
}

/**
 * The client behind a chain of trusted proxies: X-Forwarded-For read from the right (each proxy appends the address
 * it received from), passing over trusted proxies, up to the first address that is not one. An element that is not
 * an address stops the walk at the last address reached. X-Forwarded-Proto's last element is what the nearest
 * proxy saw.
 */
export function clientOrigin(peer: string | null, forwardedFor: string | undefined, forwardedProto: string | undefined, trusted: ProxyTrust): ClientOrigin {
  if (peer === null || !trusted(peer)) return { sourceIp: peer === null ? null : plainAddress(peer), secureTransport: false };
  let client = plainAddress(peer);
  const hops = (forwardedFor ?? '').split(',').filter((h) => h.trim() !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = forwardedAddress(hops[i] as string);
    if (hop === null) break;
    client = hop;
    if (!trusted(hop)) break;
  }
  const proto = (forwardedProto ?? '').split(',').pop()?.trim().toLowerCase();
  return { sourceIp: client, secureTransport: proto === 'https' };
}

/** The header the trusted proxies set (COFFER_FORWARDED_HEADER): X-Forwarded-For with X-Forwarded-Proto, or Forwarded. */
export type ForwardedHeader = 'x-forwarded-for' | 'forwarded';

/**
 * RFC 7239's Forwarded as X-Forwarded-For and X-Forwarded-Proto would say it: each element's `for` in order (an
 * element without one, or with `unknown` or an obfuscated name, becomes `unknown`, which stops clientOrigin's walk
 * there), and the last element's `proto` (the nearest proxy's). Quoted values are unquoted (`for="[2001:db8::1]:4711"`);
 * parameter names are case-insensitive.
 */
export function fromForwarded(value: string | undefined): { forwardedFor: string | undefined; forwardedProto: string | undefined } {
  if (value === undefined) return { forwardedFor: undefined, forwardedProto: undefined };
  const elements = splitOutsideQuotes(value, ',').map((element) => {
    const params = new Map<string, string>();
    for (const pair of splitOutsideQuotes(element, ';')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim().toLowerCase();
      if (!params.has(name)) params.set(name, unquote(pair.slice(eq + 1).trim()));
    }
    return params;
  });
  const forwardedFor = elements.map((e) => e.get('for') ?? 'unknown').join(', ');
  return { forwardedFor, forwardedProto: elements.at(-1)?.get('proto') };
}

function splitOutsideQuotes(s: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\' && quoted) i++;
    else if (ch === '"') quoted = !quoted;
    else if (ch === separator && !quoted) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v;
}
