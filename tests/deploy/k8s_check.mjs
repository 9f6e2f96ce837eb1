// The Kubernetes manifests (deploy/k8s) and the image (deploy/docker/Dockerfile), checked offline:
//   node tests/deploy/k8s_check.mjs ROOT WORK_DIR
// 1. The kustomization is built here (resources, and a configMapGenerator with kustomize's name
//    hash); where kubectl is installed, `kubectl kustomize` must build the same objects.
// 2. Each object is validated against the Kubernetes API's OpenAPI description (1.33), twice:
//    kubernetes-models' validators (types, required fields, formats) and its TypeScript
//    declarations compiled by tsc, whose excess-property check refuses unknown fields (a
//    misspelt `readinesProbe` that the API server would drop or refuse).
// 3. The parts agree: probes and Service on the ports debrief.yaml listens on, replicas and the
//    disruption budget, labels and selectors, secrets mounted where the config reads them and
//    listed in docs/kubernetes.md's `kubectl create secret`, the image's user, ports, base and
//    COPY sources.
// 4. WORK_DIR/debrief.yaml is the ConfigMap's debrief.yaml with its paths moved into WORK_DIR
//    (secrets, state) and the checkout (taxonomy), and WORK_DIR/secrets holds a file per secret,
//    for `debriefctl config check` (run by k8s_test.sh).
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";

const [root, work] = process.argv.slice(2);
if (!root || !work) {
  console.error("usage: node k8s_check.mjs ROOT WORK_DIR");
  process.exit(2);
}
const here = path.join(root, "tests", "deploy");
const require = createRequire(path.join(here, "package.json"));
const YAML = require("yaml");
const k8sDir = path.join(root, "deploy", "k8s");
const failures = [];
const fail = (msg) => failures.push(msg);
const say = (msg) => console.log(`k8s_check: ${msg}`);
const rel = (p) => path.relative(root, p);

// ---- 1. The kustomization, built ------------------------------------------------------------
function readDocs(file) {
  return YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d, i) => {
    if (d.errors.length) throw new Error(`${rel(file)} document ${i + 1}: ${d.errors[0].message}`);
    return d.toJS();
  }).filter((o) => o !== null);
}

// kustomize's name suffix for a generated ConfigMap: sha256 of the JSON of its kind, data and an
// empty name (kustomize hashes before it names; Go's encoding: keys sorted, <, > and & escaped),
// the first ten hex digits with 0 1 3 a e replaced so that no word is spelt.
function goJson(v) {
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v).sort().map((k) => `${goJson(k)}:${goJson(v[k])}`).join(",")}}`;
  return JSON.stringify(v).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}
function kustomizeHash(cm) {
  const hex = createHash("sha256")
    .update(goJson({ kind: "ConfigMap", name: "", data: cm.data })).digest("hex");
  const swap = { 0: "g", 1: "h", 3: "k", a: "m", e: "t" };
  return [...hex.slice(0, 10)].map((c) => swap[c] ?? c).join("");
}

const kust = readDocs(path.join(k8sDir, "kustomization.yaml"))[0];
const known = new Set(["apiVersion", "kind", "resources", "configMapGenerator"]);
for (const k of Object.keys(kust))
  if (!known.has(k)) fail(`kustomization.yaml: ${k} is not built by this check; extend k8s_check.mjs`);
const objects = [];
for (const r of kust.resources ?? []) objects.push(...readDocs(path.join(k8sDir, r)));
const renamed = {};
for (const g of kust.configMapGenerator ?? []) {
  for (const k of Object.keys(g))
    if (!["name", "files"].includes(k)) fail(`kustomization.yaml: configMapGenerator ${k} is not built by this check`);
  const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: g.name }, data: {} };
  for (const f of g.files ?? []) {
    const [key, file] = f.includes("=") ? f.split("=", 2) : [path.basename(f), f];
    cm.data[key] = fs.readFileSync(path.join(k8sDir, file), "utf8");
  }
  cm.metadata.name = `${g.name}-${kustomizeHash(cm)}`;
  renamed[g.name] = cm.metadata.name;
  objects.unshift(cm);
}
const manifestFiles = fs.readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f));
for (const f of manifestFiles)
  if (f !== "kustomization.yaml" && !(kust.resources ?? []).includes(f) &&
      !(kust.configMapGenerator ?? []).some((g) => (g.files ?? []).some((x) => x.split("=").pop() === f)))
    fail(`deploy/k8s/${f} is neither a resource nor a generator file of kustomization.yaml`);

const byKind = (kind) => objects.filter((o) => o.kind === kind);
for (const d of byKind("Deployment"))
  for (const v of d.spec?.template?.spec?.volumes ?? [])
    if (v.configMap && renamed[v.configMap.name]) v.configMap.name = renamed[v.configMap.name];

let kubectl = null;
try {
  kubectl = execFileSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).trim();
} catch {}
let out = null;
if (kubectl) {
  try {
    out = execFileSync(kubectl, ["kustomize", k8sDir], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    fail(`kubectl kustomize deploy/k8s failed: ${e.stderr || e.message}`);
  }
}
if (out !== null) {
  const theirs = YAML.parseAllDocuments(out).map((d) => d.toJS()).filter((o) => o !== null);
  const key = (o) => `${o.kind}/${o.metadata?.name}`;
  const mine = new Map(objects.map((o) => [key(o), o]));
  if (theirs.length !== objects.length) fail(`kubectl kustomize built ${theirs.length} objects, this check ${objects.length}`);
  for (const o of theirs) {
    if (!mine.has(key(o))) fail(`kubectl kustomize built ${key(o)}, this check did not`);
    else if (!isDeepStrictEqual(mine.get(key(o)), o)) fail(`kubectl kustomize built ${key(o)} otherwise than this check`);
  }
  say(`kubectl kustomize deploy/k8s builds the same ${theirs.length} objects`);
} else if (!kubectl) {
  say("no kubectl: the kustomization is built by this check alone");
}

// ---- 2. The OpenAPI description -------------------------------------------------------------
const modelPath = (o) => `kubernetes-models/${o.apiVersion}/${o.kind}`;
const tsLines = [];
objects.forEach((o, i) => {
  let Model;
  try {
    Model = require(modelPath(o))[o.kind];
  } catch {
    fail(`${o.kind} ${o.apiVersion}: no such kind in the Kubernetes API`);
    return;
  }
  try {
    new Model(JSON.parse(JSON.stringify(o))).validate();
  } catch (e) {
    fail(`${o.kind}/${o.metadata?.name}: ${e.message}`);
  }
  tsLines.push(`import type { I${o.kind} as T${i} } from "${modelPath(o)}";`);
  tsLines.push(`export const o${i}: T${i} = ${JSON.stringify(o, null, 2)};`);
});
fs.mkdirSync(work, { recursive: true });
fs.writeFileSync(path.join(work, "manifests.ts"), tsLines.join("\n") + "\n");
fs.writeFileSync(path.join(work, "tsconfig.json"), JSON.stringify({
  compilerOptions: {
    strict: true, noEmit: true, skipLibCheck: true, types: [], module: "commonjs",
    moduleResolution: "node", baseUrl: path.join(here, "node_modules"), paths: { "*": ["*"] },
    ignoreDeprecations: "5.0",
  },
  files: ["manifests.ts"],
}));
try {
  execFileSync(process.execPath, [path.join(here, "node_modules", "typescript", "bin", "tsc"),
    "-p", path.join(work, "tsconfig.json")], { encoding: "utf8", stdio: "pipe" });
  say(`${objects.length} objects valid against the Kubernetes 1.33 OpenAPI description (validators, and tsc for unknown fields)`);
} catch (e) {
  // Each error with the line it is about (the file goes with WORK_DIR).
  const ts = fs.readFileSync(path.join(work, "manifests.ts"), "utf8").split("\n");
  const out = `${e.stdout}${e.stderr}`.replace(/manifests\.ts\((\d+),\d+\): (.*)/g,
    (_, line, msg) => `manifests.ts line ${line} [${ts[line - 1]?.trim()}]: ${msg}`);
  fail(`tsc against the Kubernetes API's declarations:\n${out}`);
}

// ---- 3. The parts agree ----------------------------------------------------------------------
const one = (kind) => {
  const l = byKind(kind);
  if (l.length !== 1) fail(`expected one ${kind}, found ${l.length}`);
  return l[0] ?? {};
};
const deploy = one("Deployment"), service = one("Service"), pdb = one("PodDisruptionBudget");
const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === renamed["debrief-config"]);
if (!cm) fail("no ConfigMap debrief-config generated");
const pod = deploy.spec?.template?.spec ?? {};
const podLabels = deploy.spec?.template?.metadata?.labels ?? {};
const selects = (sel) => sel && Object.keys(sel).length > 0 &&
  Object.entries(sel).every(([k, v]) => podLabels[k] === v);
const containers = pod.containers ?? [];
if (containers.length !== 1) fail(`the pod has ${containers.length} containers, not one`);
const c = containers[0] ?? {};

if (deploy.spec?.replicas !== 3) fail(`Deployment replicas ${deploy.spec?.replicas}, not 3`);
if (!selects(deploy.spec?.selector?.matchLabels)) fail("Deployment selector does not match its pod labels");

// debriefd's command line names the config; the ConfigMap is mounted there.
const args = [...(c.command ?? []), ...(c.args ?? [])];
const configPath = args[args.indexOf("--config") + 1];
if (args.indexOf("--config") < 0 || !configPath) fail("the container's args name no --config");
const mounts = c.volumeMounts ?? [];
const volumes = Object.fromEntries((pod.volumes ?? []).map((v) => [v.name, v]));
const mountAt = (dir) => mounts.find((m) => m.mountPath === dir);
const cfgMount = mountAt(path.dirname(configPath ?? "/"));
if (!cfgMount || volumes[cfgMount.name]?.configMap?.name !== cm?.metadata.name)
  fail(`${path.dirname(configPath)} is not the ConfigMap's mount`);
const configText = cm?.data?.[path.basename(configPath ?? "")];
if (configText === undefined) fail(`the ConfigMap has no ${path.basename(configPath)}`);
const config = YAML.parse(configText ?? "{}") ?? {};

// Ports: what debrief.yaml listens on, the container's ports, the probes, the Service.
const listenPort = (what, dflt) => {
  const listen = config[what]?.listen ?? dflt;
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m) return fail(`${what}.listen ${listen} has no port`);
  if (/^(127\.|localhost$|\[?::1\]?$)/.test(m[1])) fail(`${what}.listen ${listen}: on loopback the kubelet and the Service cannot reach it`);
  return Number(m[2]);
};
const httpPort = listenPort("http", "127.0.0.1:8080"), grpcPort = listenPort("grpc", "127.0.0.1:9090");
if (config.store?.postgres === undefined) fail("debrief.yaml does not use store.postgres: replicas need one shared database");
const ports = c.ports ?? [];
const resolve = (p) => (typeof p === "number" ? p : ports.find((x) => x.name === p)?.containerPort);
for (const [name, want] of [["http", httpPort], ["grpc", grpcPort]]) {
  const p = ports.find((x) => x.name === name);
  if (p?.containerPort !== want) fail(`container port ${name} is ${p?.containerPort}, debrief.yaml listens on ${want}`);
}
for (const [probe, want] of [["readinessProbe", "/readyz"], ["livenessProbe", "/healthz"], ["startupProbe", null]]) {
  const pr = c[probe];
  if (!pr) {
    if (want) fail(`no ${probe}`);
    continue;
  }
  const g = pr.httpGet;
  if (!g) fail(`${probe} is not an httpGet`);
  else {
    if (want && g.path !== want) fail(`${probe} asks ${g.path}, not ${want}`);
    if (!["/readyz", "/healthz"].includes(g.path)) fail(`${probe} asks ${g.path}, which debriefd does not answer`);
    if (resolve(g.port) !== httpPort) fail(`${probe} asks port ${g.port}, debrief.yaml's http listens on ${httpPort}`);
  }
}
if (!selects(service.spec?.selector)) fail("the Service's selector does not match the pod labels");
const svcTargets = (service.spec?.ports ?? []).map((p) => resolve(p.targetPort ?? p.port));
for (const want of [httpPort, grpcPort])
  if (!svcTargets.includes(want)) fail(`the Service targets no port ${want}`);
for (const t of svcTargets) if (t === undefined) fail("a Service port targets no container port");
if (pdb.spec?.minAvailable !== 2) fail(`PodDisruptionBudget minAvailable ${pdb.spec?.minAvailable}, not 2`);
if (!selects(pdb.spec?.selector?.matchLabels)) fail("the PodDisruptionBudget's selector does not match the pod labels");

// Hardening.
const psc = pod.securityContext ?? {}, csc = c.securityContext ?? {};
if ((csc.runAsNonRoot ?? psc.runAsNonRoot) !== true) fail("runAsNonRoot is not set");
if ((csc.runAsUser ?? psc.runAsUser) === 0) fail("runAsUser is 0");
if (csc.readOnlyRootFilesystem !== true) fail("readOnlyRootFilesystem is not set");
if (csc.allowPrivilegeEscalation !== false) fail("allowPrivilegeEscalation is not false");
if (!(csc.capabilities?.drop ?? []).includes("ALL")) fail("capabilities do not drop ALL");
if (!c.resources?.requests || !c.resources?.limits) fail("the container has no resource requests and limits");
const spread = [...(pod.topologySpreadConstraints ?? []).map((t) => t.labelSelector?.matchLabels),
  ...(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [])
    .map((t) => t.podAffinityTerm?.labelSelector?.matchLabels),
  ...(pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [])
    .map((t) => t.labelSelector?.matchLabels)];
if (spread.length === 0) fail("no topology spread or anti-affinity: replicas may share a node");
for (const s of spread) if (!selects(s)) fail("a topology spread or anti-affinity selects other pods than debriefd's");

// SIGTERM's drain: as long as the systemd unit allows it, after the preStop pause.
const unit = fs.readFileSync(path.join(root, "deploy", "debriefd.service"), "utf8");
const drain = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1] ?? NaN);
const preStop = c.lifecycle?.preStop?.exec?.command ?? [];
const pause = preStop[0] === "sleep" ? Number(preStop[1]) : 0;
const grace = pod.terminationGracePeriodSeconds ?? 30;
if (!(grace >= drain + pause)) fail(`terminationGracePeriodSeconds ${grace} < the drain's ${drain} s + preStop ${pause} s`);

// State and secrets: data_dir writable (the root filesystem is not), every secret a file of the
// Secret volume, read-only, none made at start (replicas must share them).
const dataDir = config.data_dir;
const dataMount = mountAt(dataDir);
if (!dataDir || !dataMount || dataMount.readOnly || !volumes[dataMount.name]?.emptyDir)
  fail(`data_dir ${dataDir} is not a writable emptyDir mount`);
const secretMount = mounts.find((m) => volumes[m.name]?.secret);
const secretName = secretMount && volumes[secretMount.name].secret.secretName;
if (!secretMount || !secretMount.readOnly) fail("no read-only Secret volume");
const secretKeys = new Set();
(function walk(v, where) {
  if (!v || typeof v !== "object") return;
  const keys = Object.keys(v);
  if (!Array.isArray(v) && (keys.includes("file") || keys.includes("env")) &&
      keys.every((k) => ["file", "env", "create"].includes(k))) {
    if (v.env !== undefined) fail(`${where}: {env: ${v.env}} is set by nothing in the Deployment; use a file of the Secret`);
    else if (v.create) fail(`${where}: create: true makes a secret per replica; give it in the Secret`);
    else if (secretMount && path.dirname(v.file) !== secretMount.mountPath) fail(`${where}: ${v.file} is not in the Secret's mount ${secretMount.mountPath}`);
    else secretKeys.add(path.basename(v.file));
    return;
  }
  for (const k of keys)
    if (!(where === "" && k === "taxonomy")) walk(v[k], where ? `${where}.${k}` : k);  // taxonomy.file: a path, not a secret
})(config, "");
if (!config.api?.session_key) fail("api.session_key is not given: each replica would make its own, and agents would be signed out moving between them");

// docs/kubernetes.md's `kubectl create secret generic` makes exactly these keys.
const doc = fs.readFileSync(path.join(root, "docs", "kubernetes.md"), "utf8");
const create = new RegExp(`kubectl create secret generic ${secretName}((?:[^\\n]*\\\\\\n)*[^\\n]*)`).exec(doc);
if (!create) fail(`docs/kubernetes.md has no \`kubectl create secret generic ${secretName}\``);
else {
  const documented = new Set([...create[1].matchAll(/--from-(?:file|literal)=([\w.-]+)=/g)].map((m) => m[1]));
  const want = [...secretKeys].sort().join(" "), got = [...documented].sort().join(" ");
  if (want !== got) fail(`docs/kubernetes.md's secret has keys [${got}], debrief.yaml reads [${want}]`);
}

// The image: Debian 12, not root, the ports, SIGTERM, the config path, COPY sources that exist.
const dockerfile = path.join(root, "deploy", "docker", "Dockerfile");
const instructions = fs.readFileSync(dockerfile, "utf8").replace(/\\\n/g, " ").split("\n")
  .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
  .map((l) => { const m = /^(\w+)\s+(.*)$/.exec(l); return { op: m[1].toUpperCase(), arg: m[2] }; });
const froms = instructions.filter((i) => i.op === "FROM").map((i) => i.arg.split(/\s+/)[0]);
for (const f of froms) if (!/^debian:12(-slim)?(@sha256:[0-9a-f]{64})?$/.test(f)) fail(`Dockerfile: FROM ${f} is not Debian 12`);
const last = instructions.map((i) => i.op).lastIndexOf("FROM");
const final = instructions.slice(last);
const user = final.filter((i) => i.op === "USER").pop()?.arg.split(":")[0];
if (!user || user === "root" || user === "0") fail(`Dockerfile: the image runs as ${user ?? "root"}`);
const runAs = csc.runAsUser ?? psc.runAsUser;
if (/^\d+$/.test(user ?? "") && runAs !== undefined && Number(user) !== runAs)
  fail(`Dockerfile USER ${user} is not the Deployment's runAsUser ${runAs}`);
const exposed = final.filter((i) => i.op === "EXPOSE").flatMap((i) => i.arg.split(/\s+/)).map((p) => Number(p.split("/")[0]));
for (const p of ports) if (!exposed.includes(p.containerPort)) fail(`Dockerfile does not EXPOSE ${p.containerPort}`);
if (final.find((i) => i.op === "STOPSIGNAL")?.arg !== "SIGTERM") fail("Dockerfile: STOPSIGNAL is not SIGTERM");
if (!final.some((i) => i.op === "VOLUME" && i.arg.split(/\s+/).includes(dataDir)))
  fail(`Dockerfile: no VOLUME ${dataDir} (data_dir)`);
if (!final.some((i) => ["CMD", "ENTRYPOINT"].includes(i.op) && i.arg.includes(`"${configPath}"`)))
  fail(`Dockerfile: debriefd is not started with ${configPath}`);
const ignored = fs.existsSync(path.join(root, ".dockerignore"))
  ? fs.readFileSync(path.join(root, ".dockerignore"), "utf8").split("\n").map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#")) : [];
for (const i of instructions.filter((x) => x.op === "COPY" || x.op === "ADD")) {
  const words = i.arg.split(/\s+/).filter((w) => !w.startsWith("--"));
  if (/--from=/.test(i.arg)) continue;
  for (const src of words.slice(0, -1)) {
    if (!fs.existsSync(path.join(root, src))) fail(`Dockerfile: ${i.op} ${src}: no such file in the checkout`);
    else if (src !== "." && ignored.includes(src.split("/")[0])) fail(`Dockerfile: ${i.op} ${src} is left out by .dockerignore`);
  }
}

// ---- 4. The config as debriefctl config check will read it -------------------------------------
if (secretMount && dataDir && configText) {
  const secrets = path.join(work, "secrets"), state = path.join(work, "state");
  fs.rmSync(secrets, { recursive: true, force: true });
  fs.mkdirSync(secrets, { recursive: true });
  fs.mkdirSync(state, { recursive: true });
  for (const k of secretKeys) fs.writeFileSync(path.join(secrets, k), randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
  const moved = configText.split(`${secretMount.mountPath}/`).join(`${secrets}/`)
    .split(`data_dir: ${dataDir}`).join(`data_dir: ${state}`)
    .split("/usr/share/debrief/taxonomy/").join(`${path.join(root, "deploy", "taxonomy")}/`);
  fs.writeFileSync(path.join(work, "debrief.yaml"), moved);
  say(`secrets read from ${secretMount.mountPath}: ${[...secretKeys].sort().join(", ")}`);
}

if (failures.length) {
  for (const f of failures) console.error(`k8s_check: FAIL: ${f}`);
  process.exit(1);
}
say(`ok: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}; image ${froms.join(" -> ")}`);
