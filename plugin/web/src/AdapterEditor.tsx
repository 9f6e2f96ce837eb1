// Adding, changing and removing adapters from the admins' console: a form made from the settings
// an adapter type takes (Admin.ListAdapterTypes), tested against the helpdesk or tracker
// (Admin.CheckAdapter) and saved into the adapter's own file in conf.d (Admin.SaveAdapter); then
// what to do on the vendor's side (Admin.GetAdapterSetup) while the page waits for the first
// webhook.
//
// Secrets typed in the form go to debriefd in the draft's `secrets`, never in its settings, and
// are kept nowhere in the page: a secret generated here is shown once, in the setup steps after
// saving, and forgotten when they close.

import type { ComponentChildren } from 'preact';
import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from './api';
import { describeError } from './api';
import { localDateTime, num, timeOf } from './format';
import { useLoad } from './load';
import type {
  AdapterConfigJson,
  AdapterDraft,
  AdapterInfo,
  AdapterSetup,
  AdapterType,
  CheckAdapterResponse,
  GetAdapterSetupResponse,
  GetConfigResponse,
  ListAdaptersResponse,
  ListAdapterTypesResponse,
  ReloadResponse,
  SaveAdapterResponse,
  SettingField,
} from './types';
import { Loadable } from './ui';

// ---- Words ----

const kAcronyms: Record<string, string> = {
  api: 'API',
  url: 'URL',
  urls: 'URLs',
  id: 'ID',
  ids: 'IDs',
  hmac: 'HMAC',
  json: 'JSON',
  http: 'HTTP',
  https: 'HTTPS',
  sla: 'SLA',
  tls: 'TLS',
  ca: 'CA',
  oauth: 'OAuth',
  rt: 'RT',
  cf: 'CF',
  wont: "won't",
};

// "write_back" -> "Write back", "api_key" -> "API key".
export function settingLabel(name: string): string {
  return name
    .split(/[_\s]+/)
    .filter(Boolean)
    .map((w, i) => {
      const a = kAcronyms[w.toLowerCase()] ?? w;
      return i === 0 ? a.charAt(0).toUpperCase() + a.slice(1) : a;
    })
    .join(' ');
}

// A proto comment as one paragraph: its lines were broken for the source file, not for reading.
function helpText(help: string | undefined): string {
  return (help ?? '').replace(/\s*\n\s*/g, ' ').trim();
}

// The help as a sentence under its field: a capital first, a full stop last, `names` as code.
function HelpText(props: { text: string }) {
  let t = props.text;
  if (!t) return null;
  t = t.charAt(0).toUpperCase() + t.slice(1);
  if (!/[.!?]$/.test(t)) t = `${t}.`;
  return (
    <>
      {t.split('`').map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part))}
    </>
  );
}

// "Required" opening a sentence of the help: "HMAC-SHA256 key. Required: unsigned ...".
function isRequired(f: { help?: string }): boolean {
  return /(^|[.;]\s+)Required\b/.test(helpText(f.help));
}

const kNotValues = new Set(['the', 'a', 'an', 'none', 'as', 'empty', 'all', 'every', 'no']);

// The default a help text states ("default 5m", `default "X-Debrief-Signature"`), or ''.
function defaultIn(help: string | undefined): string {
  const m = /\bdefault:?\s+(?:"([^"]+)"|([^\s,;()]+))/i.exec(helpText(help));
  if (!m) return '';
  if (m[1]) return m[1];
  const v = (m[2] ?? '').replace(/[.:]$/, '');
  return v && !kNotValues.has(v.toLowerCase()) ? v : '';
}

function fieldPath(f: SettingField, parent: string): string {
  return f.path || (parent ? `${parent}.${f.name}` : f.name);
}

function inputId(path: string): string {
  return `adapter-field-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

// A webhook signing secret (the helpdesk and Debrief share it; either may make it up). API keys
// and tokens are the vendor's to issue, so the form offers no Generate for them; nor for a
// signing secret the helpdesk makes itself (Zendesk's signing_secret: copied from Zendesk).
function generatable(f: SettingField): boolean {
  return /secret$/i.test(f.name) && f.name !== 'signing_secret';
}

// 32 random bytes as hex.
function randomSecret(): string {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// ---- Values: the form's strings and booleans from settings, and back ----

type Values = Record<string, string | boolean>;
type Settings = Record<string, unknown>;

function asObject(v: unknown): Settings | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Settings) : undefined;
}

function truthy(v: unknown): boolean {
  return v === true || (typeof v === 'string' && /^(true|yes|on|1)$/i.test(v.trim()));
}

// What the form shows for an adapter's saved settings (secrets stay out: they are kept as-is).
function valuesOf(fields: SettingField[], settings: Settings | undefined, parent = ''): Values {
  const out: Values = {};
  for (const f of fields) {
    const path = fieldPath(f, parent);
    const v = settings?.[f.name];
    if (v === undefined || v === null) continue;
    switch (f.type) {
      case 'group':
        Object.assign(out, valuesOf(f.fields ?? [], asObject(v), path));
        break;
      case 'secret':
        break;
      case 'bool':
        out[path] = truthy(v);
        break;
      case 'list':
        out[path] = (Array.isArray(v) ? v : [v]).map((x) => String(x)).join('\n');
        break;
      case 'map':
        out[path] = Object.entries(asObject(v) ?? {})
          .map(([k, x]) => `${k}: ${String(x)}`)
          .join('\n');
        break;
      default:
        out[path] = typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
  }
  return out;
}

// Whether a group holds anything set (so it opens when the form does).
function groupHasValue(
  f: SettingField,
  values: Values,
  saved: Settings | undefined,
  parent: string,
): boolean {
  const path = fieldPath(f, parent);
  return (f.fields ?? []).some((g): boolean => {
    const p = fieldPath(g, path);
    if (g.type === 'group') return groupHasValue(g, values, asObject(saved?.[g.name]), path);
    if (g.type === 'secret') return saved?.[g.name] !== undefined;
    const v = values[p];
    return v === true || (typeof v === 'string' && v.trim() !== '');
  });
}

// The settings of the draft, from the form: unset fields left out, secrets typed in moved to
// `secrets`, a secret left blank keeping what the saved settings hold. Settings the form does not
// know (written by hand) stay as they were. Problems are added to `errors`.
function settingsOf(
  fields: SettingField[],
  values: Values,
  typed: Record<string, string>,
  unset: Record<string, boolean>,
  saved: Settings | undefined,
  secrets: Record<string, string>,
  unsetOut: string[],
  errors: string[],
  parent = '',
): Settings {
  const out: Settings = {};
  const known = new Set(fields.map((f) => f.name));
  for (const [k, v] of Object.entries(saved ?? {})) if (!known.has(k)) out[k] = v;
  for (const f of fields) {
    const path = fieldPath(f, parent);
    const label = settingLabel(f.name);
    const raw = values[path];
    const text = typeof raw === 'string' ? raw.trim() : '';
    switch (f.type) {
      case 'group': {
        const sub = settingsOf(
          f.fields ?? [],
          values,
          typed,
          unset,
          asObject(saved?.[f.name]),
          secrets,
          unsetOut,
          errors,
          path,
        );
        if (Object.keys(sub).length > 0) out[f.name] = sub;
        break;
      }
      case 'secret': {
        const s = (typed[path] ?? '').trim();
        if (unset[path]) unsetOut.push(path);
        else if (s) secrets[path] = s;
        else if (saved?.[f.name] !== undefined) out[f.name] = saved[f.name];
        break;
      }
      case 'bool':
        if (typeof raw === 'boolean') out[f.name] = raw;
        break;
      case 'int':
      case 'number':
        if (text) {
          const n = Number(text);
          if (!Number.isFinite(n) || (f.type === 'int' && !Number.isInteger(n)))
            errors.push(`${label} takes ${f.type === 'int' ? 'a whole number' : 'a number'}.`);
          else out[f.name] = n;
        }
        break;
      case 'list': {
        const items = text
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean);
        if (items.length > 0) out[f.name] = items;
        break;
      }
      case 'map': {
        const map: Record<string, string> = {};
        for (const line of text.split('\n')) {
          const l = line.trim();
          if (!l) continue;
          const colon = l.indexOf(':');
          if (colon <= 0) {
            errors.push(`Write each line of ${label} as key: value ("${l}" has no key).`);
            continue;
          }
          map[l.slice(0, colon).trim()] = l.slice(colon + 1).trim();
        }
        if (Object.keys(map).length > 0) out[f.name] = map;
        break;
      }
      default:
        if (text) out[f.name] = text;
    }
  }
  return out;
}

const kIdPattern = /^[A-Za-z0-9_-]+$/;

// ---- The form ----

export interface Editing {
  id: string;
  kind: string;
  type: string;
}

// What a save hands to the setup panel: the answer, and the secrets generated in the form to
// show once.
export interface Saved {
  id: string;
  kind: string;
  answer: SaveAdapterResponse;
  shownOnce: { title: string; value: string }[];
}

function choiceOf(t: AdapterType): string {
  return `${t.kind ?? ''}/${t.type}`;
}

// The form in its frame: the heading (focused when the form opens) and, once the adapter types
// (and, to change one, its saved settings) are loaded, the fields.
export function AdapterForm(props: {
  api: Api;
  editing: Editing | null;
  onSaved: (s: Saved) => void;
  onCancel: () => void;
}) {
  const { api, editing } = props;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const loaded = useLoad(async () => {
    const [types, config] = await Promise.all([
      api.call<ListAdapterTypesResponse>('Admin', 'ListAdapterTypes', {}),
      editing ? api.call<GetConfigResponse>('Admin', 'GetConfig', {}) : Promise.resolve(null),
    ]);
    let saved: AdapterConfigJson | undefined;
    if (editing && config) {
      const c = config.config ?? {};
      const list = (editing.kind === 'tracker' ? c.trackers : c.helpdesks) ?? [];
      saved = (Array.isArray(list) ? (list as AdapterConfigJson[]) : []).find(
        (a) => a.id === editing.id,
      );
    }
    // Its settings are what the form starts from: without them, saving would lose them.
    if (editing && !saved) throw new Error(`no settings for ${editing.id}`);
    return { types: types.types ?? [], saved };
  }, []);
  const title = editing ? `Change ${editing.id}` : 'Add an adapter';
  return (
    <div class="adapter-editor" id="adapter-form-panel">
      <h3 id="adapter-form-heading" ref={heading} tabIndex={-1}>
        {title}
      </h3>
      <Loadable state={loaded} what="load the adapter types" lines={4}>
        {(data) => (
          <AdapterFormBody
            api={api}
            types={data.types}
            editing={editing}
            saved={data.saved}
            onSaved={props.onSaved}
            onCancel={props.onCancel}
          />
        )}
      </Loadable>
      {loaded.data === undefined && (
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      )}
    </div>
  );
}

type Outcome = { tone: 'good' | 'bad'; text: string; n: number };

function AdapterFormBody(props: {
  api: Api;
  types: AdapterType[];
  editing: Editing | null;
  saved: AdapterConfigJson | undefined;
  onSaved: (s: Saved) => void;
  onCancel: () => void;
}) {
  const { api, types, editing } = props;
  const savedSettings = asObject(props.saved?.settings);
  const [choice, setChoice] = useState(() => {
    if (!editing) return '';
    const t = types.find(
      (x) => x.type === editing.type && (x.kind ?? editing.kind) === editing.kind,
    );
    return t ? choiceOf(t) : `${editing.kind}/${editing.type}`;
  });
  const type = types.find((t) => choiceOf(t) === choice);
  const [id, setId] = useState(editing?.id ?? '');
  const [values, setValues] = useState<Values>(() =>
    type ? valuesOf(type.fields ?? [], savedSettings) : {},
  );
  const [typed, setTyped] = useState<Record<string, string>>({});
  const [unset, setUnset] = useState<Record<string, boolean>>({});
  const [generated, setGenerated] = useState<Record<string, string>>({});
  const [skipCheck, setSkipCheck] = useState(false);
  const [busy, setBusy] = useState<'' | 'check' | 'save'>('');
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [idError, setIdError] = useState('');
  const counter = useRef(0);
  const idInput = useRef<HTMLInputElement>(null);
  const say = (tone: Outcome['tone'], text: string) =>
    setOutcome({ tone, text, n: ++counter.current });

  const kind = type?.kind ?? editing?.kind ?? '';
  const kinds = [
    { kind: 'helpdesk', label: 'Helpdesks' },
    { kind: 'tracker', label: 'Trackers' },
  ];

  function chooseType(c: string) {
    setChoice(c);
    setValues({});
    setTyped({});
    setGenerated({});
    setOutcome(null);
  }

  // The draft, or null after saying what to fix.
  function draft(): AdapterDraft | null {
    if (!type) {
      say('bad', 'Choose the kind of helpdesk or tracker first.');
      return null;
    }
    const trimmed = id.trim();
    if (!kIdPattern.test(trimmed)) {
      const why = trimmed
        ? 'The id takes letters, digits, - and _ only.'
        : 'Give the adapter an id: letters, digits, - and _ (at most 64).';
      setIdError(why);
      setOutcome(null);
      idInput.current?.focus();
      return null;
    }
    setIdError('');
    const errors: string[] = [];
    const secrets: Record<string, string> = {};
    const unsetSecrets: string[] = [];
    const settings = settingsOf(
      type.fields ?? [],
      values,
      typed,
      unset,
      editing ? savedSettings : undefined,
      secrets,
      unsetSecrets,
      errors,
    );
    if (errors.length > 0) {
      say('bad', errors.join(' '));
      return null;
    }
    return { kind, config: { id: trimmed, type: type.type, settings }, secrets, unsetSecrets };
  }

  async function test() {
    const d = draft();
    if (!d) return;
    setBusy('check');
    try {
      const r = await api.call<CheckAdapterResponse>('Admin', 'CheckAdapter', { draft: d });
      const more = r.message && r.message !== 'ok' ? `: ${r.message}` : '.';
      if (r.ok) say('good', `Connection OK${more}`);
      else say('bad', `The connection test failed: ${r.message || 'no reason given.'}`);
    } catch (e) {
      say('bad', describeError(e, 'test the connection'));
    }
    setBusy('');
  }

  async function save(e: Event) {
    e.preventDefault();
    const d = draft();
    if (!d) return;
    setBusy('save');
    try {
      const answer = await api.call<SaveAdapterResponse>('Admin', 'SaveAdapter', {
        draft: d,
        replace: editing !== null,
        skipCheck,
      });
      // The generated secrets that were saved (not replaced by hand since), to show once.
      const shownOnce = Object.entries(generated)
        .filter(([path, value]) => d.secrets[path] === value)
        .map(([, value]) => ({ title: 'Signing secret to paste (shown once)', value }));
      setTyped({});
      setGenerated({});
      props.onSaved({ id: d.config.id, kind: d.kind, answer, shownOnce });
    } catch (err) {
      say('bad', describeError(err, `save ${d.config.id}`));
      setBusy('');
    }
  }

  const ctx: FieldContext = {
    kind,
    editing: editing !== null,
    values,
    setValue: (path, v) => setValues((x) => ({ ...x, [path]: v })),
    typed,
    setTyped: (path, v) => setTyped((x) => ({ ...x, [path]: v })),
    unset,
    setUnset: (path, v) => setUnset((x) => ({ ...x, [path]: v })),
    generated,
    generate: (path) => {
      const s = randomSecret();
      setTyped((x) => ({ ...x, [path]: s }));
      setGenerated((x) => ({ ...x, [path]: s }));
    },
  };

  return (
    <form class="adapter-form" aria-labelledby="adapter-form-heading" onSubmit={save} noValidate>
      {editing ? (
        <p class="meta">
          A {editing.kind} of type <code>{editing.type}</code>, saved in its own file. Secrets left
          blank keep their current value.
        </p>
      ) : (
        <p class="meta">
          Saved into its own file in <code>conf.d</code> and applied at once, without a restart.
          Secrets are written to files only this service can read, never into the settings.
        </p>
      )}
      <div class="field">
        <label for="adapter-type">Helpdesk or tracker</label>
        <select
          id="adapter-type"
          value={choice}
          disabled={editing !== null}
          aria-describedby={type?.help ? 'adapter-type-help' : undefined}
          onChange={(e) => chooseType((e.currentTarget as HTMLSelectElement).value)}
        >
          {!editing && <option value="">Choose one…</option>}
          {kinds.map((k) => {
            const of = types.filter((t) => (t.kind ?? '') === k.kind);
            return of.length === 0 ? null : (
              <optgroup key={k.kind} label={k.label}>
                {of.map((t) => (
                  <option key={choiceOf(t)} value={choiceOf(t)}>
                    {t.type}
                  </option>
                ))}
              </optgroup>
            );
          })}
          {types
            .filter((t) => !kinds.some((k) => k.kind === t.kind))
            .map((t) => (
              <option key={choiceOf(t)} value={choiceOf(t)}>
                {t.type}
              </option>
            ))}
        </select>
        {type?.help && (
          <p class="hint" id="adapter-type-help">
            <HelpText text={helpText(type.help)} />
          </p>
        )}
      </div>
      <div class="field">
        <label for="adapter-id">Id</label>
        <input
          id="adapter-id"
          ref={idInput}
          type="text"
          maxLength={64}
          value={id}
          readOnly={editing !== null}
          autocomplete="off"
          spellcheck={false}
          aria-invalid={idError ? true : undefined}
          aria-describedby={idError ? 'adapter-id-error adapter-id-help' : 'adapter-id-help'}
          onInput={(e) => setId((e.currentTarget as HTMLInputElement).value)}
        />
        <p class="hint" id="adapter-id-help">
          {editing
            ? 'An adapter keeps its id: tickets and tasks are filed under it.'
            : 'Letters, digits, - and _ only (e.g. shop-eu): it names the adapter in its ' +
              'webhook URL and on tickets and tasks, and cannot be changed later.'}
        </p>
        {idError && (
          <p class="error-text" id="adapter-id-error" role="alert">
            {idError}
          </p>
        )}
      </div>
      {type && (type.fields ?? []).length === 0 && (
        <p class="meta">This type takes no settings.</p>
      )}
      {type && (
        <div class="fields" key={choice}>
          {(type.fields ?? []).map((f) => (
            <Field key={fieldPath(f, '')} field={f} parent="" saved={savedSettings} ctx={ctx} />
          ))}
        </div>
      )}
      {type && (
        <label class="check skip-check">
          <input
            type="checkbox"
            checked={skipCheck}
            onChange={(e) => setSkipCheck((e.currentTarget as HTMLInputElement).checked)}
          />
          <span>
            Save even if the connection test fails (the {kind || 'adapter'} cannot be reached from
            here now)
          </span>
        </label>
      )}
      {outcome && (
        <p
          key={outcome.n}
          id="adapter-form-outcome"
          class={outcome.tone === 'good' ? 'status-note' : 'status-note error'}
          role={outcome.tone === 'good' ? 'status' : 'alert'}
        >
          {outcome.text}
        </p>
      )}
      <div class="form-actions">
        <button
          type="button"
          class="secondary"
          disabled={busy !== '' || !type}
          onClick={() => void test()}
        >
          {busy === 'check' ? 'Testing…' : 'Test connection'}
        </button>
        <button type="submit" class="primary" disabled={busy !== '' || !type}>
          {busy === 'save' ? 'Saving…' : 'Save'}
        </button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

interface FieldContext {
  kind: string;
  editing: boolean;
  values: Values;
  setValue: (path: string, v: string | boolean) => void;
  typed: Record<string, string>;
  setTyped: (path: string, v: string) => void;
  unset: Record<string, boolean>;
  setUnset: (path: string, v: boolean) => void;
  generated: Record<string, string>;
  generate: (path: string) => void;
}

function Hint(props: { id: string; children: ComponentChildren }) {
  return (
    <p class="hint" id={props.id}>
      {props.children}
    </p>
  );
}

// Where a saved secret comes from ({file: ...} or {env: ...}), never its value.
function secretSource(v: unknown): string {
  const o = asObject(v);
  if (typeof o?.file === 'string') return `the file ${o.file}`;
  if (typeof o?.env === 'string') return `the environment variable ${o.env}`;
  return 'where it is now';
}

function Field(props: {
  field: SettingField;
  parent: string;
  saved: Settings | undefined;
  ctx: FieldContext;
}) {
  const { field: f, ctx } = props;
  const path = fieldPath(f, props.parent);
  // A group opens with the form when it is required or holds something; afterwards the admin
  // opens and closes it (clearing its last field does not close it under the cursor).
  const [groupOpen] = useState(
    () =>
      f.type === 'group' &&
      (isRequired(f) || groupHasValue(f, ctx.values, props.saved, props.parent)),
  );
  const id = inputId(path);
  const label = settingLabel(f.name);
  const help = helpText(f.help);
  const helpId = `${id}-help`;
  const required = isRequired(f);
  const value = ctx.values[path];
  const text = typeof value === 'string' ? value : '';
  const onText = (e: Event) =>
    ctx.setValue(path, (e.currentTarget as HTMLInputElement | HTMLTextAreaElement).value);
  const labelText = (
    <>
      {label}
      {required && <span class="required"> (required)</span>}
    </>
  );

  if (f.type === 'group') {
    const inner = (
      <fieldset class="group" aria-describedby={help ? helpId : undefined}>
        <legend class={required ? undefined : 'visually-hidden'}>{labelText}</legend>
        {help && (
          <Hint id={helpId}>
            <HelpText text={help} />
          </Hint>
        )}
        {(f.fields ?? []).map((g) => (
          <Field
            key={fieldPath(g, path)}
            field={g}
            parent={path}
            saved={asObject(props.saved?.[f.name])}
            ctx={ctx}
          />
        ))}
      </fieldset>
    );
    if (required) return inner;
    return (
      <details class="group" open={groupOpen}>
        <summary>
          {label} <span class="muted">(optional)</span>
        </summary>
        {inner}
      </details>
    );
  }

  if (f.type === 'bool') {
    const dflt = truthy(defaultIn(f.help));
    return (
      <div class="field">
        <label class="check" for={id}>
          <input
            id={id}
            type="checkbox"
            checked={typeof value === 'boolean' ? value : dflt}
            aria-describedby={help ? helpId : undefined}
            onChange={(e) => ctx.setValue(path, (e.currentTarget as HTMLInputElement).checked)}
          />
          <span>{labelText}</span>
        </label>
        {help && (
          <Hint id={helpId}>
            <HelpText text={help} />
          </Hint>
        )}
      </div>
    );
  }

  if (f.type === 'secret') {
    const savedRef = props.saved?.[f.name];
    const hasSaved = ctx.editing && savedRef !== undefined;
    const isGenerated =
      ctx.generated[path] !== undefined && ctx.generated[path] === ctx.typed[path];
    return (
      <div class="field">
        <label for={id}>{labelText}</label>
        <div class="row secret-row">
          <input
            id={id}
            type="password"
            autocomplete="new-password"
            spellcheck={false}
            value={ctx.typed[path] ?? ''}
            disabled={ctx.unset[path] === true}
            placeholder={hasSaved ? 'Leave blank to keep the current one' : ''}
            aria-describedby={`${helpId}${isGenerated ? ` ${id}-generated` : ''}`}
            onInput={(e) => ctx.setTyped(path, (e.currentTarget as HTMLInputElement).value)}
          />
          {ctx.kind === 'helpdesk' && generatable(f) && (
            <button
              type="button"
              class="secondary small"
              aria-label={`Generate ${label.toLowerCase()}`}
              onClick={() => ctx.generate(path)}
            >
              Generate
            </button>
          )}
        </div>
        <Hint id={helpId}>
          {help && (
            <>
              <HelpText text={help} />{' '}
            </>
          )}
          {hasSaved
            ? `Now read from ${secretSource(savedRef)}; type a new one to replace it.`
            : 'Kept in a file only debriefd reads; never shown again.'}
        </Hint>
        {hasSaved && !isRequired(f) && (
          <label class="check">
            <input
              type="checkbox"
              checked={ctx.unset[path] === true}
              onChange={(e) => ctx.setUnset(path, (e.currentTarget as HTMLInputElement).checked)}
            />{' '}
            Remove the saved {label.toLowerCase()} (its file is deleted when the change is saved)
          </label>
        )}
        {isGenerated && (
          <p class="hint generated" id={`${id}-generated`} role="status">
            A new random secret is in the field. It is shown once, after saving, to paste into the
            helpdesk.
          </p>
        )}
      </div>
    );
  }

  let input: ComponentChildren;
  const dflt = defaultIn(f.help);
  const common = {
    id,
    'aria-describedby': help ? helpId : undefined,
    spellcheck: false,
  };
  switch (f.type) {
    case 'int':
    case 'number':
      input = (
        <input
          {...common}
          type="number"
          step={f.type === 'int' ? '1' : 'any'}
          inputMode={f.type === 'int' ? 'numeric' : 'decimal'}
          value={text}
          placeholder={dflt ? `Default: ${dflt}` : ''}
          onInput={onText}
        />
      );
      break;
    case 'list':
      input = (
        <textarea {...common} rows={3} value={text} placeholder="One per line" onInput={onText} />
      );
      break;
    case 'map':
      input = (
        <textarea
          {...common}
          rows={3}
          value={text}
          placeholder="key: value, one per line"
          onInput={onText}
        />
      );
      break;
    case 'duration':
      input = (
        <input
          {...common}
          type="text"
          value={text}
          placeholder={dflt ? `Default: ${dflt}` : '30s'}
          onInput={onText}
        />
      );
      break;
    default:
      input = (
        <input
          {...common}
          type="text"
          value={text}
          placeholder={dflt ? `Default: ${dflt}` : ''}
          onInput={onText}
        />
      );
  }
  return (
    <div class="field">
      <label for={id}>{labelText}</label>
      {input}
      {help && (
        <Hint id={helpId}>
          <HelpText text={help} />
        </Hint>
      )}
      {f.type === 'duration' && !help && <Hint id={helpId}>A duration: 30s, 5m, 2h.</Hint>}
    </div>
  );
}

// ---- The setup panel ----

// A value to copy: shown in <code>, with a Copy button that says when it copied.
export function CopyValue(props: { value: string; what: string; secret?: boolean }) {
  const [copied, setCopied] = useState('');
  const code = useRef<HTMLElement>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied('Copied.');
    } catch {
      // No clipboard (a page not served over HTTPS): select it for Ctrl+C.
      const el = code.current;
      const sel = window.getSelection();
      if (el && sel) {
        const range = document.createRange();
        range.selectNodeContents(el);
        sel.removeAllRanges();
        sel.addRange(range);
      }
      setCopied('Selected: press Ctrl+C (⌘C) to copy.');
    }
  }
  return (
    <span class="copy-value">
      <code ref={code} class={props.secret ? 'secret' : 'copyable'}>
        {props.value}
      </code>{' '}
      <button
        type="button"
        class="secondary small"
        aria-label={`Copy ${props.what}`}
        onClick={() => void copy()}
      >
        Copy
      </button>
      <span class="copied" role="status">
        {copied}
      </span>
    </span>
  );
}

// "3:04:05 PM" today, the date and time otherwise.
function whenWords(iso: string | undefined): string {
  const t = timeOf(iso);
  if (t === null) return '';
  const d = new Date(t);
  if (d.toDateString() === new Date().toDateString())
    return d.toLocaleTimeString(undefined, {
      hour: 'numeric',
      minute: '2-digit',
      second: '2-digit',
    });
  return localDateTime(iso);
}

function reloadWords(r: ReloadResponse | undefined): string {
  if (!r) return '';
  const n = (r.changes ?? []).length;
  if ((r.restartNeeded ?? []).length > 0)
    return `Some changes take a restart of debriefd: ${(r.restartNeeded ?? []).join(', ')}.`;
  if (r.applied) return `Applied without a restart (${n} setting${n === 1 ? '' : 's'} changed).`;
  return '';
}

// Polls the adapters every 2 s for this one's health while the panel is open: the first
// webhook accepted (its signature verified), and those refused meanwhile with their reason.
function WebhookWait(props: {
  api: Api;
  id: string;
  onAdapters?: (r: ListAdaptersResponse) => void;
}) {
  const { api, id } = props;
  const onAdapters = useRef(props.onAdapters);
  onAdapters.current = props.onAdapters;
  const [info, setInfo] = useState<AdapterInfo | null>(null);
  const [failing, setFailing] = useState(false);
  const before = useRef<string | undefined | null>(null); // lastWebhook when the panel opened
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    async function poll() {
      try {
        const r = await api.call<ListAdaptersResponse>('Admin', 'ListAdapters', {});
        if (stopped) return;
        onAdapters.current?.(r); // the adapters' table shows the same, fresh
        const a = (r.adapters ?? []).find((x) => x.id === id) ?? null;
        if (before.current === null) {
          const was = a?.health?.lastWebhook;
          before.current = timeOf(was) !== null ? was : undefined;
        }
        setInfo(a);
        setFailing(false);
      } catch {
        if (stopped) return;
        setFailing(true);
      }
      timer = setTimeout(() => void poll(), 2000);
    }
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api, id]);
  const last = info?.health?.lastWebhook;
  const fresh = timeOf(last) !== null && last !== before.current;
  const old = timeOf(last) !== null && last === before.current;
  const refused = Object.entries(info?.health?.refusalsLastHour ?? {}).filter(
    ([, n]) => num(n) > 0,
  );
  return (
    <div class="webhook-wait" id="adapter-webhook-wait" role="status">
      {fresh ? (
        <p class="status-note">
          {before.current ? 'A new webhook' : 'First webhook'} arrived at {whenWords(last)} and its
          signature verified.
        </p>
      ) : (
        <p class="waiting">
          <span class="spinner" aria-hidden="true" />
          {old
            ? `The last webhook arrived at ${whenWords(last)}, before this panel opened. ` +
              'Waiting for a new one…'
            : 'Waiting for the first webhook…'}
        </p>
      )}
      {refused.map(([reason, n]) => (
        <p class="status-note error" key={reason}>
          A webhook arrived but was refused: {reason} ({num(n)} in the last hour).
          {!fresh && ' Still waiting for one that is accepted.'}
        </p>
      ))}
      {failing && <p class="hint">Debrief did not answer just now; asking again.</p>}
    </div>
  );
}

// What to do on the helpdesk's (or tracker's) side: after a save (`saved`), or for a configured
// adapter (loaded here).
export function AdapterSetupPanel(props: {
  api: Api;
  id: string;
  kind: string;
  saved?: Saved;
  // Each answer of the poll for the first webhook, for the adapters' table.
  onAdapters?: (r: ListAdaptersResponse) => void;
  onClose: () => void;
}) {
  const { api, id, saved } = props;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const loaded = useLoad<AdapterSetup>(
    async () =>
      saved
        ? (saved.answer.setup ?? {})
        : ((await api.call<GetAdapterSetupResponse>('Admin', 'GetAdapterSetup', { id })).setup ??
          {}),
    [id, saved],
  );
  const answer = saved?.answer;
  const restart = (answer?.reload?.restartNeeded ?? []).length > 0;
  return (
    <div class="adapter-editor setup" id="adapter-setup">
      <h3 id="adapter-setup-heading" ref={heading} tabIndex={-1}>
        {saved ? `${id} is saved: set up its webhooks` : `Set up the webhooks of ${id}`}
      </h3>
      {answer && (
        <p class={restart ? 'status-note error' : 'status-note'} role="status">
          Saved to <code>{answer.file}</code>. {reloadWords(answer.reload)}
          {answer.check === 'skipped'
            ? ' The connection test was skipped: test it once the vendor can be reached.'
            : answer.check && answer.check !== 'ok'
              ? ` ${answer.check}`
              : ''}
        </p>
      )}
      <Loadable state={loaded} what={`load the set-up of ${id}`} lines={3}>
        {(setup) => (
          <SetupSteps
            api={api}
            id={id}
            kind={props.kind}
            setup={setup}
            saved={saved}
            onAdapters={props.onAdapters}
          />
        )}
      </Loadable>
      <button type="button" class="secondary" onClick={props.onClose}>
        Close
      </button>
    </div>
  );
}

function SetupSteps(props: {
  api: Api;
  id: string;
  kind: string;
  setup: AdapterSetup;
  saved?: Saved;
  onAdapters?: (r: ListAdaptersResponse) => void;
}) {
  const { setup, saved } = props;
  const steps = setup.steps ?? [];
  const shownOnce = saved?.shownOnce ?? [];
  const path = setup.webhookPath ?? '';
  // Without http.public_url, debriefd knows only the path: this page reached it at its origin.
  const url = setup.webhookUrl || (path ? `${window.location.origin}${path}` : '');
  // A generated secret goes right after the step that speaks of the secret (or last).
  const secretAfter =
    shownOnce.length > 0 ? steps.findIndex((s) => /secret/i.test(s.detail ?? '')) : -1;
  const secretSteps = shownOnce.map((s, i) => (
    <li key={`secret-${i}`} class="shown-once">
      <strong>{s.title}</strong>
      <p class="step-detail">
        Paste it where the {props.kind || 'helpdesk'} asks for the webhook's secret. It is not
        shown again: Debrief keeps it in a file only debriefd reads.
      </p>
      <CopyValue value={s.value} what="the signing secret" secret />
    </li>
  ));
  if (!path && steps.length === 0 && shownOnce.length === 0)
    return (
      <p class="meta">
        Nothing to set up on the {props.kind || 'adapter'}'s side: Debrief calls it, it sends
        nothing to Debrief.
      </p>
    );
  return (
    <>
      {url && (
        <div class="field">
          <p class="setup-url">
            <strong>Webhook URL</strong> <CopyValue value={url} what="the webhook URL" />
          </p>
          {!setup.webhookUrl && (
            <p class="hint">
              As this page reaches debriefd. When the {props.kind || 'helpdesk'} reaches it at
              another address, use that one with the path <code>{path}</code>, and set{' '}
              <code>http.public_url</code> so that Debrief shows it here.
            </p>
          )}
        </div>
      )}
      {(steps.length > 0 || shownOnce.length > 0) && (
        <ol class="setup-steps">
          {steps.map((s, i) => (
            <Fragment key={i}>
              <li>
                <strong>{s.title}</strong>
                {s.detail && <p class="step-detail">{s.detail}</p>}
                {s.value && <CopyValue value={s.value} what={s.title || `step ${i + 1}`} />}
              </li>
              {i === secretAfter && secretSteps}
            </Fragment>
          ))}
          {secretAfter < 0 && secretSteps}
        </ol>
      )}
      {path && <WebhookWait api={props.api} id={props.id} onAdapters={props.onAdapters} />}
    </>
  );
}
