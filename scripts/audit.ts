// Runs `coffer audit ...` from source until the lead wires sdk/cli/audit.ts into sdk/cli.ts: tsx scripts/audit.ts verify ...
import { runAudit } from '../sdk/cli/audit.js';

process.exitCode = await runAudit(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
