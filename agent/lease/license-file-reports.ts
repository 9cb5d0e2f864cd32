import { ControllerHttpError, type ControllerClient } from '../controller/controller-api.js';
import type { Logger } from '../logger.js';
import { MAX_FILE_REPORTS, type FileReport, type FileStateStore } from '../state/file-state-store.js';

export interface LicenseFileReportsOptions {
  readonly store: Pick<FileStateStore, 'loadFileReports' | 'saveFileReports'>;
  readonly controller: Pick<ControllerClient, 'reportLicenseFile'>;
  readonly logger: Logger;
}

/**
 * Offline license files loaded at this device, reported to the controller, which audits each load
 * once (lease.offline-loaded). A report that cannot be delivered (the controller out of reach: the
 * usual reason to load a file) is kept in the state folder and sent at the next contact.
 */
export class LicenseFileReports {
  /** Loads and flushes run one after another: each reads and rewrites the waiting list. */
  private chain: Promise<unknown> = Promise.resolve();
  private queuedFlush: Promise<boolean> | undefined;
  /** Whether reports wait in the state folder; undefined until read once. */
  private waiting: boolean | undefined;

  constructor(private readonly o: LicenseFileReportsOptions) {}

  /** Records a load, then reports everything waiting; true when nothing is left waiting. */
  loaded(report: FileReport, credential: string): Promise<boolean> {
    return this.serial(async () => {
      const { store, logger } = this.o;
      const kept = [...(await store.loadFileReports()).filter((r) => r.jti !== report.jti), report].slice(-MAX_FILE_REPORTS);
      await store.saveFileReports(kept).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not save the license file report; it is sent now or not at all'));
      return this.send(credential, kept);
    });
  }

  /** Sends the waiting reports, if any (a flush already queued is shared). */
  flush(credential: string): Promise<boolean> {
    if (this.waiting === false) return Promise.resolve(true);
    this.queuedFlush ??= this.serial(() => {
      this.queuedFlush = undefined;
      return this.send(credential);
    });
    return this.queuedFlush;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async send(credential: string, known?: readonly FileReport[]): Promise<boolean> {
    const { store, controller, logger } = this.o;
    const waiting = known ?? (await store.loadFileReports());
    const left: FileReport[] = [];
    for (const report of waiting) {
      try {
        const r = await controller.reportLicenseFile(credential, { jti: report.jti, loadedAt: report.loadedAt });
        logger.info({ seq: report.seq, jti: report.jti, recorded: r.recorded }, 'reported the offline license file to the controller');
      } catch (err) {
        if (err instanceof ControllerHttpError && !err.retryable && err.status !== 401 && err.status !== 403) {
          // The controller will never take this one (e.g. 404: it has no such lease for this gateway).
          logger.warn({ seq: report.seq, jti: report.jti, status: err.status, err: err.message }, 'the controller refused the offline license file report; dropped');
          continue;
        }
        logger.info({ seq: report.seq, err: (err as Error).message }, 'could not report the offline license file yet; it is sent at the next contact with the controller');
        left.push(report);
      }
    }
    if (left.length !== waiting.length) {
      await store.saveFileReports(left).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'could not save the license file reports; some may be sent again (the controller records each load once)'));
    }
    this.waiting = left.length > 0;
    return left.length === 0;
  }
}
