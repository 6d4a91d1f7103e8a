/** `fleet/web`, as kubectl names objects in its output (`-o name`, apply and delete lines). */
import { findKind } from '../../api/kind-names.js';

export function objectRef(kind: string, name: string): string {
  return `${findKind(kind)?.singular ?? kind.toLowerCase()}/${name}`;
}
