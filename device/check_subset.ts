/**
 * Checks that a bundle keeps to the JavaScript the Espruino interpreter runs.
 * esbuild cannot lower most of what Espruino lacks, so the firmware is
 * written in the subset and this check, run on the final bundle by every
 * build and by the tests, fails on anything outside it, naming line and
 * column.
 *
 * Outside the subset (measured on Espruino): default parameters,
 * destructuring, spread and rest, `**`, labels, async/await, generators,
 * optional chaining, computed keys, tagged templates, class fields and
 * `#private`, a named class expression (Espruino does not bind the name
 * inside it), closures made in a `for (let …)` loop (they share one
 * binding), `catch` without a binding; and, conservatively, `??` and the
 * logical assignments, which older Espruino builds lack. Globals that do not
 * exist: Map, Set, WeakMap, WeakSet, WeakRef, Symbol, BigInt, Proxy, Reflect,
 * TextEncoder, TextDecoder, queueMicrotask, structuredClone, `Array.from`,
 * `Math.fround`, `Math.imul`, `Math.clz32`.
 *
 * Run as a program it checks the files it is given (default
 * `dist/firmware.js`); `deno task check:device` builds the bundle starting
 * in each protocol and checks both (`build_cli.ts --check`).
 *
 * @example
 * ```ts
 * import { checkSubset } from "./check_subset.ts";
 *
 * for (const v of checkSubset("const f = (a = 1) => a ** 2;")) {
 *   console.log(`${v.line}:${v.column} ${v.what}`); // 1:11 default value ..., 1:21 exponent ...
 * }
 * ```
 * @module
 */
import { loadAcorn, ToolPackageError } from "../tools/packages.ts";
import { MISSING_GLOBALS } from "./espruino.ts";

/** One construct outside the subset, where it starts (line from 1, column from 1). */
export interface Violation {
  line: number;
  column: number;
  what: string;
}

/** Static methods Espruino does not have, as "Object.method". */
const MISSING_STATICS = ["Array.from", "Math.fround", "Math.imul", "Math.clz32"];

// deno-lint-ignore no-explicit-any
type Node = any;

/** Every child node of `node`, with the key it hangs from. */
function* children(node: Node): Generator<[Node, string]> {
  for (const key of Object.keys(node)) {
    if (key === "loc" || key === "start" || key === "end" || key === "type") continue;
    const value = node[key];
    if (Array.isArray(value)) {
      for (const item of value) if (item && typeof item.type === "string") yield [item, key];
    } else if (value && typeof value.type === "string") {
      yield [value, key];
    }
  }
}

/** Whether identifier `node` (under `parent` at `key`) is a name, not a reference to a variable. */
function isNameOnly(parent: Node, key: string): boolean {
  switch (parent.type) {
    case "MemberExpression":
      return key === "property" && !parent.computed;
    case "Property":
    case "MethodDefinition":
    case "PropertyDefinition":
      return key === "key" && !parent.computed;
    case "LabeledStatement":
    case "BreakStatement":
    case "ContinueStatement":
      return true;
  }
  return false;
}

/** Names declared anywhere in the program: a local `Map` is not the missing global. */
function declaredNames(root: Node): Set<string> {
  const names = new Set<string>();
  const visit = (node: Node) => {
    const t = node.type;
    if (t === "VariableDeclarator" && node.id.type === "Identifier") names.add(node.id.name);
    if ((t.startsWith("Function") || t === "ClassDeclaration") && node.id) names.add(node.id.name);
    if (t.includes("Function")) {
      for (const p of node.params) if (p.type === "Identifier") names.add(p.name);
    }
    if (t === "CatchClause" && node.param?.type === "Identifier") names.add(node.param.name);
    for (const [child] of children(node)) visit(child);
  };
  visit(root);
  return names;
}

/** Whether any function inside `node` refers to one of `names`. */
function closesOver(node: Node, names: Set<string>, inFunction: boolean): boolean {
  if (inFunction && node.type === "Identifier" && names.has(node.name)) return true;
  const fn = inFunction || /Function/.test(node.type);
  for (const [child] of children(node)) if (closesOver(child, names, fn)) return true;
  return false;
}

/** The constructs of `code` outside the Espruino subset; empty when there are none. */
export function checkSubset(code: string): Violation[] {
  const acorn = loadAcorn();
  if (acorn instanceof ToolPackageError) throw acorn;
  let root: Node;
  try {
    root = acorn.parse(code, { ecmaVersion: "latest", sourceType: "script", locations: true });
  } catch (e) {
    const loc = (e as { loc?: { line: number; column: number } }).loc;
    return [{
      line: loc?.line ?? 1,
      column: (loc?.column ?? 0) + 1,
      what: `does not parse: ${(e as Error).message}`,
    }];
  }
  const declared = declaredNames(root);
  const found: Violation[] = [];
  const flag = (node: Node, what: string) =>
    found.push({ line: node.loc.start.line, column: node.loc.start.column + 1, what });

  const visit = (node: Node, parent: Node | null, key: string) => {
    switch (node.type) {
      case "AssignmentPattern":
        flag(node, "default value (parameter or destructuring)");
        break;
      case "ObjectPattern":
      case "ArrayPattern":
        flag(node, "destructuring");
        break;
      case "RestElement":
        flag(node, "rest parameter or element");
        break;
      case "SpreadElement":
        flag(node, "spread");
        break;
      case "BinaryExpression":
        if (node.operator === "**") flag(node, "exponent operator ** (use Math.pow)");
        break;
      case "AssignmentExpression":
        if (node.operator === "**=") flag(node, "exponent operator **= (use Math.pow)");
        if (["??=", "||=", "&&="].includes(node.operator)) {
          flag(node, `logical assignment ${node.operator}`);
        }
        break;
      case "LogicalExpression":
        if (node.operator === "??") flag(node, "nullish coalescing ?? (older Espruino lacks it)");
        break;
      case "LabeledStatement":
        flag(node, "label");
        break;
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        if (node.async) flag(node, "async function");
        if (node.generator) flag(node, "generator function");
        break;
      case "AwaitExpression":
        flag(node, "await");
        break;
      case "YieldExpression":
        flag(node, "yield");
        break;
      case "ChainExpression":
        flag(node, "optional chaining ?.");
        break;
      case "Property":
        if (node.computed) flag(node, "computed key");
        break;
      case "MethodDefinition":
        if (node.computed) flag(node, "computed key");
        else if (node.key.type !== "Identifier") flag(node, "class member named by a literal");
        break;
      case "PropertyDefinition":
        flag(node, "class field (assign in the constructor)");
        break;
      case "StaticBlock":
        flag(node, "static block");
        break;
      case "PrivateIdentifier":
        flag(node, "#private name");
        break;
      case "ClassExpression":
        if (node.id) {
          flag(node, `named class expression "${node.id.name}" (Espruino does not bind the name)`);
        }
        if (node.superClass && node.superClass.type !== "Identifier") {
          flag(node, "class extends an expression");
        }
        break;
      case "ClassDeclaration":
        if (node.superClass && node.superClass.type !== "Identifier") {
          flag(node, "class extends an expression");
        }
        break;
      case "TaggedTemplateExpression":
        flag(node, "tagged template");
        break;
      case "CatchClause":
        if (!node.param) flag(node, "catch without a binding");
        break;
      case "MetaProperty":
        flag(node, `${node.meta.name}.${node.property.name}`);
        break;
      case "ImportExpression":
        flag(node, "import()");
        break;
      case "Literal":
        if (typeof node.bigint === "string") flag(node, "BigInt literal");
        if (node.regex && /[^gim]/.test(node.regex.flags)) {
          flag(node, `regular expression flag (/${node.regex.flags})`);
        }
        break;
      case "ForStatement":
      case "ForInStatement":
      case "ForOfStatement": {
        const init = node.type === "ForStatement" ? node.init : node.left;
        if (init?.type === "VariableDeclaration" && init.kind !== "var") {
          const names = new Set<string>(
            init.declarations.filter((d: Node) => d.id.type === "Identifier").map((d: Node) =>
              d.id.name
            ),
          );
          if (closesOver(node.body, names, false)) {
            flag(
              node,
              `closure over the loop's ${init.kind} variable (closures share one binding)`,
            );
          }
        }
        break;
      }
      case "Identifier":
        if (
          MISSING_GLOBALS.includes(node.name) && !declared.has(node.name) &&
          !(parent && isNameOnly(parent, key))
        ) {
          flag(node, `${node.name} (no such global on Espruino)`);
        }
        break;
      case "MemberExpression":
        if (
          !node.computed && node.object.type === "Identifier" &&
          MISSING_STATICS.includes(`${node.object.name}.${node.property.name}`)
        ) {
          flag(node, `${node.object.name}.${node.property.name} (not on Espruino)`);
        }
        break;
    }
    for (const [child, childKey] of children(node)) visit(child, node, childKey);
  };
  visit(root, null, "");
  return found.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** `checkSubset` as lines for people, `name:line:column: what`. */
export function formatViolations(name: string, violations: Violation[]): string {
  return violations.map((v) => `${name}:${v.line}:${v.column}: ${v.what}`).join("\n");
}

async function main(args: string[]): Promise<number> {
  let failed = false;
  for (const path of args.length ? args : ["dist/firmware.js"]) {
    const violations = checkSubset(await Deno.readTextFile(path));
    if (violations.length) {
      failed = true;
      console.error(formatViolations(path, violations));
    } else {
      console.log(`${path}: in the Espruino subset`);
    }
  }
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
