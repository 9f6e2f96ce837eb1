// Validates GraphQL operations, and the variables sent with them, against Linear's schema.
//   node validate.mjs OPS.json   (a JSON list of {"query": ..., "variables": {...}})
// Prints each problem and exits 1 when there is one; prints what it checked otherwise.
import { readFileSync } from "node:fs";
import { parse, validate, getVariableValues } from "graphql";
import { linearSchema } from "./schema.mjs";

const schema = linearSchema();
const ops = JSON.parse(readFileSync(process.argv[2], "utf8"));
let problems = 0;
const names = new Set();
for (const op of ops) {
  let doc;
  try {
    doc = parse(op.query);
  } catch (e) {
    console.log(`syntax: ${e.message}\n  in ${op.query}`);
    problems++;
    continue;
  }
  for (const e of validate(schema, doc)) {
    console.log(`invalid: ${e.message}\n  in ${op.query}`);
    problems++;
  }
  for (const def of doc.definitions) {
    if (def.kind !== "OperationDefinition") continue;
    names.add(def.name ? def.name.value : "(anonymous)");
    const r = getVariableValues(schema, def.variableDefinitions ?? [], op.variables ?? {});
    for (const e of r.errors ?? []) {
      console.log(`variables: ${e.message}\n  in ${def.name?.value}: ${JSON.stringify(op.variables)}`);
      problems++;
    }
  }
}
console.log(`${ops.length} requests, ${names.size} operations (${[...names].sort().join(", ")}): ` +
            `${problems} problems`);
process.exit(problems ? 1 : 0);
