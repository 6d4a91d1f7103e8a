/**
 * The yaml package, loaded on first use rather than at start-up: most runs of a command print text and
 * never need it, and loading it costs more than `drover version` does in all. Synchronous (the package
 * ships CommonJS), so that renderers stay plain functions.
 */
import { createRequire } from 'node:module';

let yaml: typeof import('yaml') | undefined;

export function loadYaml(): typeof import('yaml') {
  return (yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));
}
