// The gateway still imports subject matching from here; it moved to protocol/subject-match.ts (issue #25).
// Remove this forwarder once libs/gateway/src imports the new path.
export { hasWildcard, subjectMatches } from '../../protocol/subject-match.js';
