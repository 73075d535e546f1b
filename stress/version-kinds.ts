import type { Knex } from 'knex';
import { AutoIncVersionField, createVersionTrigger, IntegerVersionField, TriggerVersionField, VersionField } from '../lib';

/**
 * A version strategy the stress harness runs with. Adding one is one entry
 * in `STRESS_KINDS`.
 */
export interface StressKind {
  /** The name on the command line (`--kind`) and in reports. */
  readonly name: string;
  /** A new field for the counter model. */
  field(): VersionField;
  /**
   * Whether every save moves the version by exactly one, so that the final
   * version minus the initial one must equal the number of saves. Otherwise
   * only the chain is checked: versions distinct and strictly increasing,
   * each save starting from the version the previous one wrote.
   */
  readonly countsSaves: boolean;
  /** Extra schema after the counter table is created (a trigger, say). */
  prepare?(knex: Knex, table: string): Promise<void>;
}

export const STRESS_KINDS: readonly StressKind[] = [
  { name: 'IntegerVersionField', field: () => new IntegerVersionField(), countsSaves: false },
  { name: 'AutoIncVersionField', field: () => new AutoIncVersionField(), countsSaves: true },
  {
    name: 'TriggerVersionField',
    field: () => new TriggerVersionField(),
    // The trigger adds exactly one per UPDATE.
    countsSaves: true,
    prepare: async (knex, table) => {
      await createVersionTrigger(knex, table, 'version');
    },
  },
];

export function stressKind(name: string): StressKind {
  const kind = STRESS_KINDS.find((k) => k.name.toLowerCase() === name.toLowerCase());
  if (kind === undefined) throw new Error(`unknown version kind ${name}; use one of ${STRESS_KINDS.map((k) => k.name).join(', ')}`);
  return kind;
}
