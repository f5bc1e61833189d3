import { Injectable, Logger } from '@nestjs/common';
import { FileStore } from '@brain-net/store';
import { errorMessage } from '../errors/error-message';

/** Often enough that an expired upload goes within a minute or so of its time. */
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Deletes expired uploads and the files of executions whose records are gone or
 * pruned, now and then. Every instance may sweep: a sweep deletes only what is due.
 */
@Injectable()
export class FileSweeper {
  private readonly logger = new Logger(FileSweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(private readonly files: FileStore) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One sweep; one at a time (a slow store never piles them up). */
  sweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    const sweeping = this.files
      .sweep(new Date())
      .then((removed: number) => {
        if (removed > 0) this.logger.log(`deleted ${removed} files past their time`);
      })
      .catch((error: unknown) => this.logger.warn(`cannot sweep files: ${errorMessage(error)}`))
      .finally(() => (this.sweeping = null));
    this.sweeping = sweeping;
    return sweeping;
  }
}
