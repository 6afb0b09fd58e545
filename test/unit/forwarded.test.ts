// The client's address and transport behind trusted proxies (server/protocol/forwarded.ts): what aws:SourceIp,
// aws:SecureTransport and the audit record's sourceIPAddress are built from.
import { describe, expect, it } from 'vitest';
import { clientOrigin, fromForwarded, proxyTrust, TRUST_NONE } from '../../server/protocol/forwarded.js';

const ingress = proxyTrust(['10.0.0.0/8', 'fd00::/8', '127.0.0.1']);

describe('proxyTrust', () => {
  it('matches addresses and CIDR ranges of both families, IPv4-mapped peers as IPv4', () => {
    expect(ingress('10.20.30.40')).toBe(true);
    expect(ingress('::ffff:10.1.1.1')).toBe(true);
    expect(ingress('fd12::7')).toBe(true);
    expect(ingress('127.0.0.1')).toBe(true);
    expect(ingress('127.0.0.2')).toBe(false);
    expect(ingress('11.0.0.1')).toBe(false);
    expect(ingress('2001:db8::1')).toBe(false);
    expect(ingress('not an address')).toBe(false);
  });

  it('names the first entry that is neither an address nor a CIDR range', () => {
    for (const bad of ['10.0.0.0/33', 'proxy.internal', '::1/129', '1.2.3.4/8/9', '10.0.0.0/', '300.1.1.1']) {
      expect(() => proxyTrust(['10.0.0.1', bad])).toThrow(`'${bad}'`);
    }
    expect(proxyTrust([])).toBe(TRUST_NONE);
  });
});

describe('clientOrigin', () => {
  it('ignores X-Forwarded-* from a peer that is not a trusted proxy: a client cannot choose its own address', () => {
    expect(clientOrigin('203.0.113.9', '10.0.0.5', 'https', ingress)).toEqual({ sourceIp: '203.0.113.9', secureTransport: false });
    expect(clientOrigin('::ffff:192.0.2.1', '10.0.0.5', 'https', TRUST_NONE)).toEqual({ sourceIp: '192.0.2.1', secureTransport: false });
    expect(clientOrigin(null, '10.0.0.5', 'https', ingress)).toEqual({ sourceIp: null, secureTransport: false });
  });

  it('takes the client from the right of X-Forwarded-For, past trusted proxies, and never a spoofed element left of it', () => {
    expect(clientOrigin('10.0.0.1', '203.0.113.7', 'https', ingress)).toEqual({ sourceIp: '203.0.113.7', secureTransport: true });
    // The client sent "198.51.100.9" itself; the ingress appended what it saw, then an inner proxy appended the ingress.
    expect(clientOrigin('10.0.0.1', '198.51.100.9, 203.0.113.7, 10.0.0.2', 'https', ingress).sourceIp).toBe('203.0.113.7');
    // Every hop trusted: the farthest one reached.
    expect(clientOrigin('10.0.0.1', '10.0.0.3, 10.0.0.2', undefined, ingress).sourceIp).toBe('10.0.0.3');
    // No header: the proxy itself.
    expect(clientOrigin('::ffff:10.0.0.1', undefined, undefined, ingress)).toEqual({ sourceIp: '10.0.0.1', secureTransport: false });
  });

  it('reads ports and brackets off, and stops at an element that is not an address', () => {
    expect(clientOrigin('10.0.0.1', '203.0.113.7:51234', 'https', ingress).sourceIp).toBe('203.0.113.7');
    expect(clientOrigin('10.0.0.1', '[2001:db8::1]:443', 'https', ingress).sourceIp).toBe('2001:db8::1');
    expect(clientOrigin('10.0.0.1', 'unknown, 203.0.113.7', 'https', ingress).sourceIp).toBe('203.0.113.7');
    expect(clientOrigin('10.0.0.1', '203.0.113.7, garbage', 'https', ingress).sourceIp).toBe('10.0.0.1');
  });

  it('aws:SecureTransport is what the nearest proxy saw: the last X-Forwarded-Proto element', () => {
    expect(clientOrigin('10.0.0.1', '203.0.113.7', 'HTTPS', ingress).secureTransport).toBe(true);
    expect(clientOrigin('10.0.0.1', '203.0.113.7', 'https, http', ingress).secureTransport).toBe(false);
    expect(clientOrigin('10.0.0.1', '203.0.113.7', 'http, https', ingress).secureTransport).toBe(true);
    expect(clientOrigin('10.0.0.1', '203.0.113.7', undefined, ingress).secureTransport).toBe(false);
  });
});

describe('fromForwarded (RFC 7239)', () => {
  const origin = (value: string | undefined) => {
    const f = fromForwarded(value);
    return clientOrigin('10.0.0.1', f.forwardedFor, f.forwardedProto, ingress);
  };

  it('reads each element\'s for and the nearest element\'s proto, as X-Forwarded-For and -Proto', () => {
    expect(origin('for=203.0.113.7;proto=https')).toEqual({ sourceIp: '203.0.113.7', secureTransport: true });
    expect(origin('for=198.51.100.9, for=203.0.113.7;proto=http, for=10.0.0.2;proto=https')).toEqual({ sourceIp: '203.0.113.7', secureTransport: true });
    expect(origin('for=203.0.113.7;proto=https, for=10.0.0.2;proto=http').secureTransport).toBe(false);
    expect(origin(undefined)).toEqual({ sourceIp: '10.0.0.1', secureTransport: false });
  });

  it('unquotes values, takes brackets and ports off, ignores case of names, keeps commas inside quotes', () => {
    expect(origin('For="[2001:db8:cafe::17]:4711";Proto=HTTPS').sourceIp).toBe('2001:db8:cafe::17');
    expect(origin('for="203.0.113.7:51234"').sourceIp).toBe('203.0.113.7');
    expect(origin('by="a,b";for=203.0.113.7;host="x;y"').sourceIp).toBe('203.0.113.7');
    expect(fromForwarded('for="a\\"b", for=x')).toEqual({ forwardedFor: 'a"b, x', forwardedProto: undefined });
  });

  it('an element without an address (none, unknown, obfuscated) stops the walk there', () => {
    expect(origin('for=unknown, for=10.0.0.2').sourceIp).toBe('10.0.0.2');
    expect(origin('for=_hidden').sourceIp).toBe('10.0.0.1');
    expect(origin('proto=https').sourceIp).toBe('10.0.0.1');
    expect(origin('for=203.0.113.7, by=10.0.0.9').sourceIp).toBe('10.0.0.1');
  });
});
