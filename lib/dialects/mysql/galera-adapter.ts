import type { Knex } from 'knex';
import { MysqlAdapter } from './mysql-adapter';
import { GaleraClient, MysqlClient } from './mysql-client';

/**
 * MariaDB Galera, for `connect({ nodes })`: MySQL's adapter, with the reads
 * that must see the latest committed row made to wait for this node to
 * catch up with the cluster.
 *
 * A Galera node acknowledges a commit once the cluster has certified it,
 * then applies the other nodes' commits asynchronously: a plain read on
 * node A straight after a commit on node B was stale 7-46% of the time
 * (measured on this project's 3-node cluster). A stale read there would
 * call a changed row unchanged (`isChanged()`), hand `refresh()` an old
 * version whose save then conflicts again, or report the wrong version in
 * a conflict. `wsrep_sync_wait = 1` makes the node first apply everything
 * the cluster committed before the read started; MariaDB's
 * `SET STATEMENT ... FOR` scopes it to that one statement (no session
 * state to reset, so it works on pooled and prepared connections alike).
 * It costs a round of the group protocol per read: `npm run bench --
 * --topology galera` measures it.
 *
 * Plain reads (`get()`, `query()`) do not wait: they see this node's own
 * commits, and the others' a moment later.
 */
export class GaleraAdapter extends MysqlAdapter {
  override readonly syncedReadPrefix = 'SET STATEMENT wsrep_sync_wait=1 FOR ';

  // A node lends only connections it can serve (see GaleraClient): one joining or leaving the cluster is moved past.
  override prepareConfig(withOptions: Knex.Config): Knex.Config {
    const config = super.prepareConfig(withOptions);
    return (config.client as unknown) === MysqlClient ? { ...config, client: GaleraClient as unknown as Knex.Config['client'] } : config;
  }
}
