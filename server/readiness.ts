// Readiness: the token is logged in, the start-up self-test passed, the database answers, its migrations are current,
// and the process is not shutting down. The answer names each failing check, never a reason text from a driver.
import type { SelfTestResult } from '../hsm/index.js';

export interface ReadinessSources {
  tokenLoggedIn(): Promise<boolean>;
  selfTest: SelfTestResult;
  databaseReachable(): Promise<boolean>;
  migrationsCurrent(): Promise<boolean>;
  shuttingDown(): boolean;
}

export interface ReadinessReport {
  ready: boolean;
  failing: string[];
  selfTest: SelfTestResult['checks'];
}

export async function checkReadiness(s: ReadinessSources): Promise<ReadinessReport> {
  const safe = (p: () => Promise<boolean>) => p().catch(() => false);
  const [token, database] = await Promise.all([safe(s.tokenLoggedIn), safe(s.databaseReachable)]);
  // Only ask for migrations when the database answers, so a down database is named once.
  const migrations = database ? await safe(s.migrationsCurrent) : true;
  const failing = [
    ...(s.shuttingDown() ? ['shutting-down'] : []),
    ...(token ? [] : ['token-login']),
    ...(s.selfTest.passed ? [] : ['self-test']),
    ...(database ? [] : ['database']),
    ...(migrations ? [] : ['migrations']),
  ];
  return { ready: failing.length === 0, failing, selfTest: s.selfTest.checks };
}
