/**
 * Paths taken out of a sentence before a client sees it: the model
 * repository's location is the operator's business, not the client's.
 *
 * @module
 */

/**
 * `text` without the repository's location: paths under `root` become
 * relative to it, and any other absolute path (a single model file, a path
 * in an OS error) keeps only its last part.
 */
export function withoutPaths(text: string, root: string): string {
  const under = root.endsWith("/") ? root : `${root}/`;
  return text.replaceAll(under, "").replace(
    /(^|[\s'"`(=])\/(?:[^\s'"`()/]+\/)*([^\s'"`()/]+)/g,
    "$1$2",
  );
}
