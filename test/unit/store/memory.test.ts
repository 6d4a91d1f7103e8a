import { MemoryStore } from '../../../src/store/memory/memory-store.js';
import { runStoreContract } from '../../store/contract.js';

runStoreContract('memory', async (opts = {}) => {
  const store = new MemoryStore(opts.historySize === undefined ? {} : { historySize: opts.historySize });
  return { store, cleanup: () => store.close() };
});
