// Audit event ids: UUIDs of version 7 (RFC 9562 §5.7), which begin with the event's Unix time in milliseconds.
//
// audit_events keeps a unique index on the id (LookupEvents finds an event by it). With random (version 4) ids each
// append lands on a random leaf of that index: once the index outgrows the cache every append reads a page, and after
// each checkpoint the first change to every leaf writes the whole 8-KB page to the WAL. Ids that grow with time are
// appended at the index's right edge instead, as the sequence columns are (bench/README.md, tenth session). The id
// reveals nothing the event's record does not already say: its time. Key ids stay random (version 4).

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Bytes of randomness uuidV7 reads (the 74 random bits it needs, rounded up). */
export const UUID_V7_RANDOM_BYTES = 10;

/**
 * A version-7 UUID for the millisecond `unixMs` (an integer from 0 to 2^48 − 1), its other 74 bits taken from
 * `random` (at least UUID_V7_RANDOM_BYTES bytes): 48 bits of time, the version (7), 12 random bits, the variant (10),
 * 62 random bits.
 */
export function uuidV7(unixMs: number, random: Uint8Array): string {
  if (!Number.isSafeInteger(unixMs) || unixMs < 0 || unixMs >= 2 ** 48) throw new RangeError('uuidV7: the time must be a 48-bit count of milliseconds');
  if (random.length < UUID_V7_RANDOM_BYTES) throw new RangeError(`uuidV7: needs ${UUID_V7_RANDOM_BYTES} random bytes`);
  const high = Math.floor(unixMs / 2 ** 16); // the first 32 bits of the 48
  const low = unixMs % 2 ** 16;
  const b = [
    high >>> 24, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff, low >>> 8, low & 0xff,
    0x70 | ((random[0] as number) & 0x0f), random[1] as number,
    0x80 | ((random[2] as number) & 0x3f), random[3] as number,
    random[4] as number, random[5] as number, random[6] as number, random[7] as number, random[8] as number, random[9] as number,
  ].map((x) => HEX[x] as string);
  return `${b[0]}${b[1]}${b[2]}${b[3]}-${b[4]}${b[5]}-${b[6]}${b[7]}-${b[8]}${b[9]}-${b[10]}${b[11]}${b[12]}${b[13]}${b[14]}${b[15]}`;
}

/** How many ids one draw of random bytes serves (node's randomUUID pools its entropy the same way). */
const IDS_PER_DRAW = 128;

/**
 * ServiceDeps.newEventId from a source of random bytes (node's randomBytes in the server). The bytes are drawn for
 * IDS_PER_DRAW ids at once and each id takes its own slice: one call into OpenSSL's generator per id cost a getpid
 * system call each (its fork check), measurable on a VM where system calls are dear.
 */
export function eventIdsFrom(randomBytes: (n: number) => Uint8Array): (time: Date) => string {
  let pool: Uint8Array = new Uint8Array(0);
  let offset = 0;
  return (time) => {
    if (offset + UUID_V7_RANDOM_BYTES > pool.length) {
      pool = randomBytes(UUID_V7_RANDOM_BYTES * IDS_PER_DRAW);
      offset = 0;
    }
    const id = uuidV7(time.getTime(), pool.subarray(offset, offset + UUID_V7_RANDOM_BYTES));
    offset += UUID_V7_RANDOM_BYTES;
    return id;
  };
}
