import { InMemoryFileStore } from '@brain-net/store/files/testing/in-memory-file-store';
import { AppConfig } from '../../config/app-config';
import { InputFiles } from '../../files/input-files';
import { OutputFileKeeper } from '../../files/output-files';

/** The file services admission and the lifecycle take, over one FileStore in memory. */
export function inMemoryFiles(config: AppConfig): {
  readonly store: InMemoryFileStore;
  readonly inputFiles: InputFiles;
  readonly outputFiles: OutputFileKeeper;
} {
  const store = new InMemoryFileStore();
  return {
    store,
    inputFiles: new InputFiles(config, store),
    outputFiles: new OutputFileKeeper(store),
  };
}
