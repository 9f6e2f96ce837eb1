// Linear's GraphQL schema, rebuilt from the type declarations npm @linear/sdk ships (Linear
// generates them from its schema with graphql-codegen; the SDL itself is not in the package):
// object types (they carry __typename), their fields' arguments (<Type><Field>Args), input
// types, enums (by their GraphQL values), unions and custom scalars. Nullability follows the
// declarations: Maybe<T> / InputMaybe<T> / an optional member is nullable, the rest non-null.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { buildSchema } from "graphql";

const BUILTIN = new Set(["ID", "String", "Boolean", "Int", "Float"]);

function declarations() {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve("@linear/sdk/package.json")), "dist");
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".d.mts") || f.endsWith(".d.ts"))) {
    const text = readFileSync(join(dir, f), "utf8");
    if (text.includes("\ntype Query = {")) return text;
  }
  throw new Error("no declaration file with `type Query` in @linear/sdk");
}

// "Maybe<Array<Scalars[\"String\"]>>" -> { sdl: "[String!]", nullable: true }
function typeOf(expr) {
  expr = expr.trim();
  let m;
  if ((m = /^(?:Maybe|InputMaybe)<(.*)>$/s.exec(expr))) return { sdl: typeOf(m[1]).sdl, nullable: true };
  if ((m = /^Array<(.*)>$/s.exec(expr))) {
    const inner = typeOf(m[1]);
    return { sdl: `[${inner.sdl}${inner.nullable ? "" : "!"}]`, nullable: false };
  }
  if ((m = /^Scalars\["(\w+)"\](?:\["(?:input|output)"\])?$/.exec(expr))) return { sdl: m[1], nullable: false };
  if (/^\w+$/.test(expr)) return { sdl: expr, nullable: false };
  throw new Error(`unreadable type: ${expr}`);
}

export function linearSchemaSDL() {
  const text = declarations();
  const scalars = [];
  const enums = new Map();
  const objects = new Map(); // name -> [{name, type}]
  const inputs = new Map();
  const args = new Map(); // "QueryIssues" -> [{name, type}]
  const unions = new Map();

  const scal = /\ntype Scalars = \{([\s\S]*?)\n\};/.exec(text);
  for (const m of scal[1].matchAll(/^ {2}(\w+):/gm)) if (!BUILTIN.has(m[1])) scalars.push(m[1]);

  for (const m of text.matchAll(/\ndeclare enum (\w+) \{([\s\S]*?)\n\}/g)) {
    const values = [...m[2].matchAll(/^\s+\w+ = "([^"]+)",?$/gm)].map((v) => v[1]);
    enums.set(m[1], values);
  }
  for (const m of text.matchAll(/\ntype (\w+) = ((?:\w+ & )*)\{([\s\S]*?)\n\};/g)) {
    const [, name, , body] = m;
    if (name === "Scalars" || name === "Exact" || name.startsWith("Incremental")) continue;
    const fields = [];
    let typename = false;
    let unreadable = false;
    // Members: "  name?: Type;" (a type may wrap onto following lines).
    const clean = body.replace(/\/\*\*[\s\S]*?\*\//g, "");
    for (const f of clean.matchAll(/^ {2}(\w+)(\??): ([\s\S]*?);$/gm)) {
      if (f[1] === "__typename") { typename = true; continue; }
      let t;
      try {
        t = typeOf(f[3]);
      } catch {
        unreadable = true;  // an operation's result type (inline objects), not a schema type
        break;
      }
      fields.push({ name: f[1], type: t.sdl + (t.nullable || f[2] === "?" ? "" : "!") });
    }
    if (unreadable) continue;
    if (typename) objects.set(name, fields);
    else if (name.endsWith("Args")) args.set(name.slice(0, -4), fields);
    else inputs.set(name, fields);
  }
  // Interfaces are declared without __typename: an "input" type that an object's field returns
  // is an output type (interfaces are served as object types; fragments on them are not used).
  const base = (t) => t.replace(/[[\]!]/g, "");
  for (let moved = true; moved; ) {
    moved = false;
    for (const fs of [...objects.values()])
      for (const f of fs)
        if (inputs.has(base(f.type))) {
          objects.set(base(f.type), inputs.get(base(f.type)));
          inputs.delete(base(f.type));
          moved = true;
        }
    // ... and so is one whose fields return an object type.
    for (const [n, fs] of [...inputs])
      if (fs.some((f) => objects.has(base(f.type)))) {
        objects.set(n, fs);
        inputs.delete(n);
        moved = true;
      }
  }
  for (const m of text.matchAll(/\ntype (\w+) = ((?:\w+ \| )+\w+);/g)) {
    const members = m[2].split(" | ");
    if (members.every((x) => objects.has(x))) unions.set(m[1], members);
  }

  const out = [];
  for (const s of scalars) out.push(`scalar ${s}`);
  for (const [n, vs] of enums) if (vs.length) out.push(`enum ${n} { ${vs.join(" ")} }`);
  for (const [n, ms] of unions) out.push(`union ${n} = ${ms.join(" | ")}`);
  for (const [n, fs] of inputs)
    if (fs.length) out.push(`input ${n} {\n${fs.map((f) => `  ${f.name}: ${f.type}`).join("\n")}\n}`);
  for (const [n, fs] of objects) {
    const lines = fs.map((f) => {
      const a = args.get(n + f.name[0].toUpperCase() + f.name.slice(1));
      const sig = a && a.length ? `(${a.map((x) => `${x.name}: ${x.type}`).join(", ")})` : "";
      return `  ${f.name}${sig}: ${f.type}`;
    });
    if (lines.length) out.push(`type ${n} {\n${lines.join("\n")}\n}`);
  }
  return out.join("\n\n");
}

export function linearSchema() {
  return buildSchema(linearSchemaSDL());
}
