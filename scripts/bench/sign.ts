// A minimal, fast SigV4 signer for the load generator: the canonical request the AWS SDK builds for KMS.
import { createHmac } from 'node:crypto';
import { sha256Hex } from '../../server/protocol/sigv4.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const SIGNED_HEADERS = 'content-type;host;x-amz-date;x-amz-target';
const JSON_11 = 'application/x-amz-json-1.1';

const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

export function amzDateOf(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Signs POST / requests; the signing key is derived once per day, as clients cache it. */
export class Signer {
  private day = '';
  private key: Buffer = Buffer.alloc(0);
  private second = -1;
  private amzDate = '';

  constructor(
    private readonly creds: Credentials,
    private readonly host: string,
  ) {}

  /** The full HTTP/1.1 request bytes for one signed request. */
  request(target: string, body: Buffer): Buffer {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.amzDate = amzDateOf(new Date(now));
    }
    const date = this.amzDate.slice(0, 8);
    if (date !== this.day) {
      this.day = date;
      const kDate = hmac(`AWS4${this.creds.secretAccessKey}`, date);
      this.key = hmac(hmac(hmac(kDate, this.creds.region), 'kms'), 'aws4_request');
    }
    const scope = `${date}/${this.creds.region}/kms/aws4_request`;
    const canonical =
      `POST\n/\n\ncontent-type:${JSON_11}\nhost:${this.host}\nx-amz-date:${this.amzDate}\nx-amz-target:${target}\n\n` +
      `${SIGNED_HEADERS}\n${sha256Hex(body)}`;
    const toSign = `AWS4-HMAC-SHA256\n${this.amzDate}\n${scope}\n${sha256Hex(canonical)}`;
    const signature = createHmac('sha256', this.key).update(toSign).digest('hex');
    const head =
      `POST / HTTP/1.1\r\nhost: ${this.host}\r\ncontent-type: ${JSON_11}\r\nx-amz-date: ${this.amzDate}\r\n` +
      `x-amz-target: ${target}\r\ncontent-length: ${body.length}\r\n` +
      `authorization: AWS4-HMAC-SHA256 Credential=${this.creds.accessKeyId}/${scope}, SignedHeaders=${SIGNED_HEADERS}, Signature=${signature}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), body]);
  }
}
