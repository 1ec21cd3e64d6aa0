/**
 * Keeps a bundle as the Espruino tools take it: printable ASCII, tabs and
 * line breaks (`isPrintableAscii`), with the control characters esbuild
 * leaves raw in string and regex literals written as escapes
 * (`escapeControls`). `build.ts` applies both to every bundle.
 *
 * @module
 */

/**
 * Whether `text` is printable ASCII, tabs and line breaks: the Espruino tools
 * replace any other character with "?".
 */
export function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 32 || c > 126) && c !== 9 && c !== 10 && c !== 13) return false;
  }
  return true;
}

/**
 * Writes control characters as `\xNN`: esbuild prints the strings it folds
 * (`String.fromCharCode(4, 2)`, a `const enum`'s string) with them raw, and
 * the Espruino tools would mangle them. They stand only in string and regex
 * literals (a raw line break is the bundle's own), where the escape means
 * the same character.
 */
export function escapeControls(code: string): string {
  // deno-lint-ignore no-control-regex -- these are what it finds
  const controls = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;
  return code.replace(controls, (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"));
}
