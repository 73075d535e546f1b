/**
 * Starts a server program that outlives the command that started it: its
 * own session, output appended to a log file, no handle kept open.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { runAs } from './server-binaries';

export interface DaemonOptions {
  /** The system user to run as when we are root. */
  readonly user: string;
  /** Where the program's standard output and error go (appended). */
  readonly logFile: string;
}

/** Starts `command` detached and returns its pid. */
export function startDaemon(command: string, args: readonly string[], options: DaemonOptions): number {
  const log = fs.openSync(options.logFile, 'a');
  try {
    const child = spawn(command, [...args], { detached: true, stdio: ['ignore', log, log], ...(runAs(options.user) ?? {}) });
    // An error here (no such program) would otherwise arrive after we returned a pid.
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    fs.closeSync(log);
  }
}

/** The last lines of a log file, for error messages. */
export function logTail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
