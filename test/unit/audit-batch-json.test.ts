// Unit: the JSON a batch of audit rows travels in (db/repos/audit.ts batchJson): the plain stringify when nothing
// needs replacing, U+FFFD for NUL and lone surrogates otherwise, as the per-value replacer always did.
import { describe, expect, it } from 'vitest';
import { batchJson, recordLines, type BatchRow } from '../../db/repos/audit.js';
import { canonicalJson } from '../../core/audit-chain.js';
import { cloudTrailRecord, type AuditEvent } from '../../core/audit.js';

type Row = BatchRow;
const row = (over: Partial<Row>): Row => ({
  n: 1, id: 'e1', time: '2026-11-29T22:00:00.000Z', request_id: 'r', operation: 'Encrypt', key_arn: null, caller_arn: 'arn:aws:iam::111122223333:root',
  access_key_id: 'AKIA', source_ip: '127.0.0.1', user_agent: 'ua', outcome: 'success', error_code: null, encryption_context_keys: ['a'],
  ...over,
} as Row);

describe('batchJson', () => {
  it('is the plain JSON of ordinary rows, even ones holding escapes, pairs and backslashes', () => {
    const rows = [row({ user_agent: 'emoji \ud83d\ude00 tab\t "q" back\\slash', encryption_context_keys: ['\\u0000 as text'] })];
    const json = batchJson(rows);
    expect(JSON.parse(json)).toEqual(rows);
  });

  it('replaces NUL and lone surrogates with U+FFFD, wherever they are', () => {
    const rows = [row({}), row({ n: 2, user_agent: 'ua \ud83d', encryption_context_keys: ['\ud800', 'x\udfffy', 'nul\u0000'] })];
    const parsed = JSON.parse(batchJson(rows)) as Row[];
    expect(parsed[0]).toEqual(rows[0]);
    expect(parsed[1]?.user_agent).toBe('ua \ufffd');
    expect(parsed[1]?.encryption_context_keys).toEqual(['\ufffd', 'x\ufffdy', 'nul\ufffd']);
  });
});

describe('recordLines', () => {
  const event = (over: Partial<AuditEvent>): AuditEvent => ({
    id: 'e1', time: new Date('2026-11-30T01:00:00Z'), requestId: 'r', operation: 'Encrypt', keyArn: null, callerArn: null, accessKeyId: null,
    sourceIp: null, userAgent: null, outcome: 'Success', errorCode: null, encryptionContextKeys: [], ...over,
  });

  it('puts record n on line n, line breaks and NUL in any value escaped, so the split in SQL finds each record whole', () => {
    const events = [event({ userAgent: 'line\nbreak\r\u2028 and \u0000' }), event({ id: 'e2', errorCode: 'X', errorMessage: 'two\nlines' }), event({ id: 'e3' })];
    const lines = recordLines(events).split('\n');
    expect(lines).toEqual(events.map((e) => canonicalJson(cloudTrailRecord(e))));
    expect(JSON.parse(lines[0] as string).userAgent).toBe('line\nbreak\r\u2028 and \u0000');
  });
});
