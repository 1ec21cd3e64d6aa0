import assert from "node:assert/strict";
import { checkSubset, formatViolations } from "./check_subset.ts";

/** The one violation `code` has, as "line:column what". */
function only(code: string): string {
  const found = checkSubset(code);
  assert.equal(found.length, 1, `expected one violation in ${code}, got ${JSON.stringify(found)}`);
  return `${found[0].line}:${found[0].column} ${found[0].what}`;
}

Deno.test("every construct Espruino lacks is named, with its line and column", () => {
  const cases: [string, RegExp][] = [
    ["function f(a = 1) { return a; }", /^1:12 default value/],
    ["const { a } = o;", /^1:7 destructuring/],
    ["const [a] = o;", /^1:7 destructuring/],
    ["function f(...a) { return a; }", /^1:12 rest parameter/],
    ["f(...a);", /^1:3 spread/],
    ["const o2 = { ...o };", /^1:14 spread/],
    ["x = 2 ** 3;", /^1:5 exponent operator \*\*/],
    ["x **= 3;", /^1:1 exponent operator \*\*=/],
    ["outer: for (;;) break outer;", /^1:1 label/],
    ["async function f() {}", /^1:1 async function/],
    ["function* g() {}", /^1:1 generator function/],
    ["x = a?.b;", /^1:5 optional chaining/],
    ["x = a ?? b;", /^1:5 nullish coalescing/],
    ["x ||= 1;", /^1:1 logical assignment \|\|=/],
    ["x = { [k]: 1 };", /^1:7 computed key/],
    ["x = tag`a`;", /^1:5 tagged template/],
    ["class A { x = 1; }", /^1:11 class field/],
    ["class A { static { } }", /^1:11 static block/],
    ["class A { m() { return 1; } 'n'() {} }", /^1:29 class member named by a literal/],
    ["x = class B { static m() { return B; } };", /^1:5 named class expression "B"/],
    ["try { f(); } catch { g(); }", /^1:14 catch without a binding/],
    ["x = 10n;", /^1:5 BigInt literal/],
    ["x = /a/u;", /^1:5 regular expression flag/],
    ["for (let i = 0; i < 3; i++) fs.push(() => i);", /^1:1 closure over the loop's let/],
  ];
  for (const [code, expected] of cases) assert.match(only(code), expected, code);
});

Deno.test("the missing globals are named; local names that merely match are not", () => {
  for (
    const name of [
      "Map",
      "Set",
      "WeakMap",
      "Symbol",
      "BigInt",
      "TextEncoder",
      "TextDecoder",
      "Proxy",
      "Reflect",
    ]
  ) {
    assert.match(only(`x = new ${name}();`), new RegExp(`^1:9 ${name} \\(no such global`), name);
  }
  assert.match(only("x = Array.from(y);"), /^1:5 Array\.from/);
  assert.match(only("x = Math.fround(1);"), /^1:5 Math\.fround/);
  assert.match(only("x = Math.imul(1, 2);"), /^1:5 Math\.imul/);
  assert.deepEqual(checkSubset("function f(Map) { return Map; } x = o.Map; y = { Set: 1 };"), []);
  assert.deepEqual(checkSubset("x = s.from(y); z = Math.floor(1);"), []);
});

Deno.test("what Espruino runs passes", () => {
  const code = `
    class A { constructor(a) { this.a = a; } get b() { return this.a; } static c() { return 1; } }
    const f = (x) => x + 1; let g = \`v\${f(1)}\`;
    const u8 = new Uint8Array(4), dv = new DataView(u8.buffer); dv.setUint32(0, 1, true);
    for (var i = 0; i < 3; i++) fs.push(() => i);
    for (let j = 0; j < 3; j++) total += j;
    try { f(); } catch (e) { g = "" + e; }
    new Promise((resolve) => resolve(1)).then(f);
    const o = { a: 1, f() { return 2; } }; x = class { m() {} };
  `;
  assert.deepEqual(checkSubset(code), []);
});

Deno.test("a bundle that does not parse is one violation, where the parser stopped", () => {
  const [v] = checkSubset("x = 1;\ny = (;");
  assert.equal(v.line, 2);
  assert.match(v.what, /^does not parse/);
});

Deno.test("violations read as file:line:column: what", () => {
  assert.equal(
    formatViolations("bundle.js", checkSubset("x = 2 ** 3;\ny = a?.b;")),
    "bundle.js:1:5: exponent operator ** (use Math.pow)\nbundle.js:2:5: optional chaining ?.",
  );
});
