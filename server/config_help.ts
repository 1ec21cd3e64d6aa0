/**
 * What the option table (`config.ts`) says to people: `deno task serve
 * --help`, grouped with the essentials first and wrapped at 100 columns, and
 * `docs/configuration.md` (written by `deno task docs:config`; a test fails
 * when the file differs from the table).
 *
 * @example
 * ```ts
 * import { configurationDoc, usage } from "./config_help.ts";
 *
 * console.log(usage().split("\n").length, configurationDoc().startsWith("# Configuration"));
 * ```
 * @module
 */
import { envName, OPTIONS } from "./config.ts";
import { type Group, GROUPS, type OptionSpec } from "./config_spec.ts";

const WIDTH = 100;
const LEFT = 30;

/** How a row's value is spelled: `N`, `MS`, `wasm|native`; nothing for a switch. */
function valueName(spec: OptionSpec): string {
  if (spec.kind.type === "boolean") return "";
  if (spec.value) return spec.value;
  if (spec.kind.type === "enum") return spec.kind.values.join("|");
  return spec.kind.type === "string" ? "VALUE" : "N";
}

/** The default as people read it. */
function shownDefault(spec: OptionSpec): string | undefined {
  return spec.shown ?? spec.default;
}

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function rows(group: Group): OptionSpec[] {
  return (OPTIONS as readonly OptionSpec[]).filter((spec) => spec.group === group);
}

/** The `--help` text. */
export function usage(): string {
  const out = [
    "Usage: deno task serve [options]",
    "",
    ...wrap(
      "Serves MNIST inference to boards (legacy and framed protocols on one TCP port) and over " +
        "HTTP (Open Inference Protocol, health, Prometheus metrics, dashboard). Every flag can " +
        "also be set by an environment variable, MNIST_ and its name in capitals " +
        "(--max-batch: MNIST_MAX_BATCH); flags win over variables, variables over defaults. " +
        "docs/configuration.md describes every option.",
      WIDTH,
    ),
  ];
  for (const [group, title] of Object.entries(GROUPS) as [Group, string][]) {
    out.push("", `${title}:`);
    for (const spec of rows(group)) {
      const value = valueName(spec);
      const left = `  --${spec.flag}${value ? ` ${value}` : ""}`;
      const def = shownDefault(spec);
      const help = wrap(spec.help + (def === undefined ? "" : ` (default ${def})`), WIDTH - LEFT);
      if (left.length >= LEFT) out.push(left);
      else out.push(left.padEnd(LEFT) + help.shift());
      out.push(...help.map((line) => " ".repeat(LEFT) + line));
    }
  }
  out.push("", "  -h, --help".padEnd(LEFT) + "show this help");
  return out.join("\n");
}

/** A default as the docs show it: code for a value, words for a description or none. */
function docDefault(spec: OptionSpec): string {
  if (spec.shown !== undefined) return spec.shown;
  if (spec.default === undefined) return spec.kind.type === "boolean" ? "off" : "unset";
  return `\`${cell(spec.default)}\``;
}

/** Escapes `|` for a Markdown table cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** A Markdown table with its columns padded, as `deno fmt` writes it. */
function table(header: string[], body: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...body.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...body.map(line)];
}

/** `docs/configuration.md`: every option, its variable, default and meaning, by group. */
export function configurationDoc(): string {
  const out = [
    "# Configuration",
    "",
    "<!-- Generated from the option table in server/config.ts by `deno task docs:config`; do not edit. -->",
    "",
    ...wrap(
      "The server (deno task serve) takes every option as a flag (`--max-batch=64`) or as an " +
        "environment variable (`MNIST_MAX_BATCH=64`): MNIST_ and the flag's name in capitals. " +
        "A flag wins over a variable, a variable over the default. Its `--help` lists the same " +
        "options. A switch (no value) is on as a flag, or with its variable set to `1`, `true`, " +
        "`yes` or `on`.",
      WIDTH,
    ),
    "",
    ...wrap(
      "Programs that start a server with `startServer()` (tests, benches) get the same " +
        "defaults, except where the table below names a different one for `startServer()`.",
      WIDTH,
    ),
  ];
  for (const [group, title] of Object.entries(GROUPS) as [Group, string][]) {
    const body = rows(group).map((spec) => {
      const value = valueName(spec);
      const library = spec.library === undefined ? "" : `; \`startServer()\`: ${spec.library}`;
      return [
        `\`--${spec.flag}${value ? ` ${cell(value)}` : ""}\``,
        `\`${envName(spec.flag)}\``,
        docDefault(spec) + library,
        cell(spec.details ? `${spec.help}; ${spec.details}` : spec.help),
      ];
    });
    out.push("", `## ${title}`, "", ...table(["Flag", "Variable", "Default", "Meaning"], body));
  }
  return out.join("\n") + "\n";
}
