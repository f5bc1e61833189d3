import { behavesAsAnExecutionStore } from './execution-store-contract';
import { InMemoryExecutionStore } from './in-memory-execution-store';

describe('InMemoryExecutionStore', () => {
  let store: InMemoryExecutionStore;

  beforeEach(() => {
    store = new InMemoryExecutionStore();
  });

  behavesAsAnExecutionStore(() => store);
});
