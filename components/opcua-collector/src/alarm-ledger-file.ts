// The alarm ledger's file in the component's work folder (alarm-ledger.ts says what it holds). Written
// synchronously, to a temporary file that is fsync'd and then renamed over the old one (and the
// folder fsync'd), so that a crash at any instant leaves the previous snapshot or the new one, never
// a torn file, and so that a raise is on disk before its event can reach the nucleus. Writes happen
// at alarm transitions and sink acknowledgements only: a few per capture, not per sample.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type AlarmLedger, type LedgerSnapshot, parseLedger } from './alarm-ledger';
import type { Logger } from './ports';

/** File name in the work folder. */
export const ALARM_LEDGER_FILE = 'open-alarms.json';

export class AlarmLedgerFile {
  private written = -1;

  constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {}

  static inWorkDir(workDir: string, logger: Logger): AlarmLedgerFile {
    return new AlarmLedgerFile(join(workDir, ALARM_LEDGER_FILE), logger);
  }

  /** What the previous run left; undefined when there is no file. An unreadable file is logged and ignored. */
  load(): LedgerSnapshot | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.logger.warn({ file: this.file, err: String(e) }, 'cannot read the open-alarm ledger; alarms a previous run left open will not be closed');
      return undefined;
    }
    try {
      return parseLedger(JSON.parse(text));
    } catch (e) {
      this.logger.warn({ file: this.file, err: e instanceof Error ? e.message : String(e) }, 'ignored an open-alarm ledger this collector cannot read');
      return undefined;
    }
  }

  /** Writes the ledger if it changed since the last write. Never throws: a failure is logged (ERROR: a crash would then leave alarms open). */
  save(ledger: AlarmLedger): void {
    if (ledger.revision === this.written) return;
    try {
      writeAtomically(this.file, `${JSON.stringify(ledger.snapshot())}\n`);
      this.written = ledger.revision;
    } catch (e) {
      this.logger.error({ file: this.file, err: String(e) }, 'cannot write the open-alarm ledger: alarms open at a crash would stay open in the cloud');
    }
  }
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  // The rename is durable only once the folder's entry is.
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
