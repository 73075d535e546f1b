import type { MigrationStatus } from '../migrations/migration-status';

function when(date: Date | null): string {
  return date === null ? '' : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** `status` as a table: one row per migration, then totals and problems. */
export function formatStatus(status: MigrationStatus, target: string): string {
  const header = ['STATE', 'BATCH', 'APPLIED AT', 'MIGRATION'];
  const rows = status.migrations.map((m) => [m.state, m.batch === null ? '' : String(m.batch), when(m.appliedAt), m.name]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}`.trimEnd();
  const out = [`Migrations in ${status.directory} for ${target}`, ''];
  if (rows.length === 0) out.push('  (no migration files)');
  else out.push(line(header), ...rows.map(line));
  out.push('', `${status.applied} applied, ${status.pending} pending.`);
  if (status.runningBy !== undefined) out.push(`A migration run is in progress (${status.runningBy}).`);
  if (status.problems.length > 0) out.push('', `Problems (${status.problems.length}):`, ...status.problems.map((p) => `  ${p}`));
  return `${out.join('\n')}\n`;
}
