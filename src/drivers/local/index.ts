export { LocalDriver, workloadSpec, type LocalDriverOptions } from './local-driver.js';
export { readState, stateFilePath, type WorkloadRecord } from './state-file.js';
export { groupMembers, isAlive, signalGroup } from './process-table.js';
