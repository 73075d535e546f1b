import type { MigrationStatus } from '../migrations/migration-status';
import { formatTable } from './format-table';

function when(date: Date | null): string {
  return date === null ? '' : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** `status` as a table: one row per migration, then totals and problems. */
export function formatStatus(status: MigrationStatus, target: string): string {
  const header = ['STATE', 'BATCH', 'APPLIED AT', 'MIGRATION'];
  const rows = status.migrations.map((m) => [m.state, m.batch === null ? '' : String(m.batch), when(m.appliedAt), m.name]);
  const out = [`Migrations in ${status.directory} for ${target}`, ''];
  if (rows.length === 0) out.push('  (no migration files)');
  else out.push(...formatTable(header, rows));
  out.push('', `${status.applied} applied, ${status.pending} pending.`);
  if (status.runningBy !== undefined) out.push(`A migration run is in progress (${status.runningBy}).`);
  if (status.problems.length > 0) out.push('', `Problems (${status.problems.length}):`, ...status.problems.map((p) => `  ${p}`));
  return `${out.join('\n')}\n`;
}
