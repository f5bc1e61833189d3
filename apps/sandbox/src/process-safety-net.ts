import type { LoggerService } from '@nestjs/common';
import { stackOf } from './errors/error-message';

/**
 * The safety net under the process (main.ts installs it on `process`). Work that fails
 * unexpectedly is logged where it runs; what still escapes ends here:
 * - a promise rejection nobody handled ended only its own async work, whose state the
 *   rejection already unwound: logged, and the process serves on;
 * - an exception that escaped a callback stopped it halfway, in a state nothing checks:
 *   logged, then the process exits non-zero. A restart is safe: it sweeps the sandbox
 *   containers left behind, and the executions left unfinished are recorded failed (by
 *   the restart alone on a machine, as lost jobs in a cluster).
 */
export function installSafetyNet(
  logger: Pick<LoggerService, 'error'>,
  exit: (code: number) => void,
  target: NodeJS.EventEmitter = process,
): void {
  target.on('unhandledRejection', (reason: unknown) => {
    logger.error('an unhandled promise rejection was contained', stackOf(reason));
  });
  target.on('uncaughtException', (error: unknown) => {
    try {
      logger.error(
        'an uncaught exception leaves the process in an unknown state: exiting',
        stackOf(error),
      );
    } finally {
      exit(1);
    }
  });
}
