/**
 * Whether `err` is a Galera node refusing work because it is out of sync.
 *
 * A Galera node that is not part of the cluster's primary component, or not
 * yet synced with it (joining, receiving a state transfer, leaving at
 * shutdown), answers every statement but SET and SHOW with MySQL error 1047
 * (`ER_UNKNOWN_COM_ERROR`, "WSREP has not yet prepared node for application
 * use"), while it accepts connections all along: on this project's private
 * Galera cluster, during part of the 3.5-8 s a restarted node takes to
 * rejoin, and between a clean shutdown leaving the group and the server
 * closing its port (the stress harness's self-test met 8,289 of them). The
 * same number without "WSREP" is the old protocol error "Unknown command",
 * which means something else.
 */
export function isWsrepNotReady(err: unknown): boolean {
  const e = err as { errno?: unknown; message?: unknown } | null;
  if (e?.errno === 1047) return /WSREP/i.test(String(e.message));
  // A write met as its node leaves: 1180 ER_ERROR_DURING_COMMIT "Error while appending streaming replication
  // fragment(provider status: Not connected to Primary Component)", seen under autocommit UPDATEs while a node
  // shut down cleanly (the stress harness, 2 runs in 3 under load). Other 1180s are a storage engine's, not this.
  return e?.errno === 1180 && /Primary Component/i.test(String(e.message));
}

/** The error a new connection to a node whose `wsrep_ready` is not ON gets, in the shape of the server's own 1047. */
export function wsrepNotReadyError(state: string): Error {
  return Object.assign(new Error(`WSREP has not yet prepared node for application use (wsrep_ready ${state} on a new connection)`), { errno: 1047, code: 'ER_UNKNOWN_COM_ERROR' });
}
