import { InMemoryFileStore } from './in-memory-file-store';
import { behavesAsAFileStore } from './file-store-contract';

describe('InMemoryFileStore', () => {
  let executions: Set<string>;
  let store: InMemoryFileStore;

  beforeEach(() => {
    executions = new Set();
    store = new InMemoryFileStore((id) => executions.has(id));
  });

  behavesAsAFileStore(() => ({
    store,
    createExecution: async (id) => {
      executions.add(id);
      return Promise.resolve();
    },
    storedObjects: async () => Promise.resolve(store.count),
  }));
});
