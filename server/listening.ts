// The server announces its address in one JSON log line ("msg":"listening"); tests and the bench read it from
// the child's output with this, so the log format has one owner.

/** The url of the server's "listening" log line (field order is the logger's business), or null. */
export function listeningUrl(output: string): string | null {
  for (const line of output.split('\n')) {
    if (!line.includes('"listening"')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
      if (entry.msg === 'listening' && typeof entry.url === 'string') return entry.url;
    } catch {
      // a partial line: wait for the rest
    }
  }
  return null;
}
