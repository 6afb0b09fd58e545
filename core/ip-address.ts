// IP addresses and CIDR ranges, IPv4 and IPv6, as the policy language's IpAddress operator and the trusted-proxy
// list (server/protocol/forwarded.ts) read them. Pure: no node:net, so core can use it.

export interface IpAddress {
  family: 4 | 6;
  value: bigint;
  /** An IPv4 address written IPv4-mapped (::ffff:10.0.0.1): its IPv6 reading, which IPv6 ranges match against. */
  mapped?: bigint;
}

export interface IpRange extends IpAddress {
  /** Prefix length: 0-32 for IPv4, 0-128 for IPv6. */
  bits: number;
}

function ipv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((x) => x > 255)) return null;
  return parts.reduce((acc, x) => acc * 256 + x, 0);
}

/** An IPv6 address as a 128-bit number (compressed "::" and a trailing dotted IPv4 part allowed), or null. */
function ipv6(s: string): bigint | null {
  if (!s.includes(':')) return null;
  let text = s;
  let low32: number | null = null;
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted) {
    low32 = ipv4(dotted[2] as string);
    if (low32 === null) return null;
    text = `${dotted[1] as string}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const left = halves[0] ? (halves[0] as string).split(':') : [];
  const right = halves.length === 2 && halves[1] ? (halves[1] as string).split(':') : [];
  const missing = 8 - left.length - right.length;
  // Without "::" there must be eight groups; "::" stands for at least one.
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  let value = 0n;
  for (const group of [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return low32 === null ? value : (value & ~0xffffffffn) | BigInt(low32);
}

/** IPv4-mapped IPv6 addresses (::ffff:10.0.0.1, as a dual-stack socket reports IPv4 peers) as plain IPv4; others as given. */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? (mapped[1] as string) : address;
}

/** An address, or null; an IPv4-mapped IPv6 address is IPv4 (plainAddress). */
export function parseIp(text: string): IpAddress | null {
  const unmapped = plainAddress(text);
  const v4 = ipv4(unmapped);
  if (v4 !== null) return unmapped === text ? { family: 4, value: BigInt(v4) } : { family: 4, value: BigInt(v4), mapped: ipv6(text) as bigint };
  const v6 = ipv6(text);
  return v6 === null ? null : { family: 6, value: v6 };
}

/** "address" or "address/bits", or null when either part is not one. */
export function parseIpRange(text: string): IpRange | null {
  const slash = text.indexOf('/');
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return null;
  const max = address.family === 4 ? 32 : 128;
  if (slash < 0) return { ...address, bits: max };
  const bits = text.slice(slash + 1);
  const n = /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  return n >= 0 && n <= max ? { ...address, bits: n } : null;
}

/** Whether the address lies in the range; an address of the other family never does. */
export function inIpRange(address: IpAddress, range: IpRange): boolean {
  const value = address.family === range.family ? address.value : range.family === 6 ? address.mapped : undefined;
  if (value === undefined) return false;
  const shift = BigInt((range.family === 4 ? 32 : 128) - range.bits);
  return value >> shift === range.value >> shift;
}
