// The ChangeFeed over Postgres LISTEN/NOTIFY (postgres.js keeps a dedicated listening connection and re-listens
// after a reconnect; PGlite delivers within its one process). Each feed ignores its own change notices and hears only
// its own probes. Inside a unit of work (found through `current`) a notice is sent by the transaction itself, so
// Postgres delivers it at commit and never on rollback: a committed change cannot lose its notice to a failure
// between commit and announce.
//
// Payload: JSON { f: sender, s: scopes | null } for a change, { f: sender, p: sentAt } for a probe; NOTIFY payloads
// must stay under 8000 bytes, so a change touching very many scopes is announced as "anything".
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { ChangeFeed } from '../core/ports.js';
import type { Database, Db } from './client.js';

export const CHANGE_CHANNEL = 'coffer_metadata_changed';
const MAX_PAYLOAD = 7000;

interface Notice {
  f: string;
  s?: string[] | null;
  p?: number;
}

export function changeFeedOver(database: Database, current: () => Db | undefined = () => undefined): ChangeFeed {
  const self = randomUUID();
  const send = async (notice: Notice) => {
    let payload = JSON.stringify(notice);
    if (payload.length > MAX_PAYLOAD) payload = JSON.stringify({ f: self, s: null });
    const tx = current();
    if (tx) await tx.execute(sql`select pg_notify(${CHANGE_CHANNEL}, ${payload})`);
    else if (database.kind === 'postgres') await database.client.notify(CHANGE_CHANNEL, payload);
    else await database.client.query(`select pg_notify('${CHANGE_CHANNEL}', $1)`, [payload]);
  };
  return {
    announce: (scopes) => send({ f: self, s: scopes === null ? null : [...scopes] }),
    probe: (sentAt) => send({ f: self, p: sentAt }),
    async listen(onChange, onProbe) {
      const heard = (payload: string) => {
        let notice: Notice;
        try {
          notice = JSON.parse(payload) as Notice;
        } catch {
          notice = { f: payload, s: null }; // an older instance's bare sender id: anything changed
        }
        if (notice.f === self) {
          if (typeof notice.p === 'number') onProbe?.(notice.p);
          return;
        }
        if (notice.p === undefined) onChange(Array.isArray(notice.s) ? notice.s : null);
      };
      // A (re)connected listener may have missed notices while it was away.
      if (database.kind === 'postgres') await database.client.listen(CHANGE_CHANNEL, heard, () => onChange(null));
      else await database.client.listen(CHANGE_CHANNEL, heard);
    },
  };
}
