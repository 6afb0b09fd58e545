// Building blocks of the wire contract: AWS JSON 1.1 members with AWS's constraints and wording.
import { z } from 'zod';

/** Marks a failed blob decode so the protocol layer answers SerializationException, as AWS does. */
export const NOT_BASE64 = 'SerializationException: not valid base64';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const str = (min: number, max: number) =>
  z
    .string()
    .min(min, `Member must have length greater than or equal to ${min}`)
    .max(max, `Member must have length less than or equal to ${max}`);

export const int = (min: number, max: number) =>
  z
    .number()
    .int('Member must be an integer')
    .min(min, `Member must have value greater than or equal to ${min}`)
    .max(max, `Member must have value less than or equal to ${max}`);

/** A base64 blob decoded to bytes, with length limits on the decoded bytes. Values are never echoed in errors. */
export const blob = (min: number, max: number) =>
  z
    .string()
    .refine((s) => BASE64.test(s), NOT_BASE64)
    .transform((s) => new Uint8Array(Buffer.from(s, 'base64')))
    .refine((b) => b.length >= min, `Member must have length greater than or equal to ${min}`)
    .refine((b) => b.length <= max, `Member must have length less than or equal to ${max}`);

export const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.string().refine((v): v is T[number] => (values as readonly string[]).includes(v), `Member must satisfy enum value set: [${values.join(', ')}]`);

export const keyIdMember = str(1, 2048);
export const grantTokens = z.array(str(1, 8192)).max(10, 'Member must have length less than or equal to 10').optional();
export const encryptionContext = z.record(z.string(), z.string()).optional();
export const marker = str(1, 1024).optional();
export const tag = z.object({ TagKey: str(1, 128), TagValue: str(0, 256) });


/**
 * An AWS JSON 1.1 timestamp: epoch seconds, within years 1970 to 9999 so every date the server stores or compares
 * is one Postgres and Date accept (a year-0 EndTime once gave a 500).
 */
export const epochSeconds = z
  .number()
  .finite('Member must be a timestamp')
  .min(0, 'Member must be a timestamp between 1970 and 9999')
  .max(253402300799, 'Member must be a timestamp between 1970 and 9999');
