// The ChangeFeed over Postgres LISTEN/NOTIFY (postgres.js keeps a dedicated listening connection and re-listens
// after a reconnect; PGlite delivers within its one process). Each feed ignores its own notices.
import { randomUUID } from 'node:crypto';
import type { ChangeFeed } from '../core/ports.js';
import type { Database } from './client.js';

export const CHANGE_CHANNEL = 'coffer_metadata_changed';

export function changeFeedOver(database: Database): ChangeFeed {
  const self = randomUUID();
  return {
    async announce() {
      if (database.kind === 'postgres') await database.client.notify(CHANGE_CHANNEL, self);
      else await database.client.query(`select pg_notify('${CHANGE_CHANNEL}', $1)`, [self]);
    },
    async listen(onChange) {
      const heard = (sender: string) => {
        if (sender !== self) onChange();
      };
      // A (re)connected listener may have missed notices while it was away.
      if (database.kind === 'postgres') await database.client.listen(CHANGE_CHANNEL, heard, onChange);
      else await database.client.listen(CHANGE_CHANNEL, heard);
    },
  };
}
