/**
 * The mark the fleet controller puts on a Prod of a draining cluster that no successor can replace (no
 * room elsewhere, or a Release owns the fleet's successors). Until then a drain only builds: the Prod
 * keeps its tenants until its successor takes them over, so a drain keeps redundancy where room exists.
 */
export { ANNOTATION_EVACUATION_BLOCKED as evacuationBlockedAnnotation } from '../api/labels.js';
