// A searchable category picker: the WAI-ARIA editable combobox with list autocomplete
// (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/). Focus stays in the input; the
// highlighted option is named by aria-activedescendant. Keys: Down/Up move (and open),
// Alt+Down opens, Enter chooses, Escape closes (or, closed, clears), Tab leaves.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { kindWords, percent } from './format';
import type { Category, ScoredCategory } from './types';

interface Option {
  category: Category;
  current: boolean;
  suggested?: number; // the classifier's confidence when it was a runner-up
}

let instances = 0;

export function CategoryPicker(props: {
  label: string;
  categories: Category[];
  currentId?: string;
  alternatives?: ScoredCategory[];
  selected: Category | null;
  onSelect: (c: Category | null) => void;
  disabled?: boolean;
}) {
  const ids = useMemo(() => {
    const n = ++instances;
    return { input: `picker-${n}`, list: `picker-${n}-list`, hint: `picker-${n}-hint` };
  }, []);
  const [query, setQuery] = useState(props.selected?.name ?? '');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const listRef = useRef<HTMLUListElement>(null);

  // The runner-ups first (what the classifier also thought), then every category by name.
  const ordered = useMemo<Option[]>(() => {
    const alt = new Map<string, number>();
    for (const a of props.alternatives ?? []) alt.set(a.categoryId, Number(a.confidence) || 0);
    // A retired category takes no tickets: agents choose among the others.
    const all = props.categories.filter((c) => !c.retired).sort((a, b) =>
      (a.name || a.id).localeCompare(b.name || b.id),
    );
    const opts = all.map((c) => ({
      category: c,
      current: c.id === props.currentId,
      suggested: alt.get(c.id),
    }));
    return [
      ...opts.filter((o) => o.suggested !== undefined).sort((a, b) => b.suggested! - a.suggested!),
      ...opts.filter((o) => o.suggested === undefined),
    ];
  }, [props.categories, props.alternatives, props.currentId]);

  const options = useMemo(() => {
    // Once a category is chosen its name is in the box: show the whole list again.
    const q = props.selected && query === props.selected.name ? '' : query;
    const words = q.toLowerCase().split(/\s+/).filter(Boolean);
    if (words.length === 0) return ordered;
    return ordered.filter((o) => {
      const hay = `${o.category.name} ${o.category.id} ${kindWords(o.category.kind)}`.toLowerCase();
      return words.every((w) => hay.includes(w));
    });
  }, [ordered, query, props.selected]);

  // A choice made from outside (none today) shows in the box; clearing is done by remounting.
  useEffect(() => {
    if (props.selected) setQuery(props.selected.name);
  }, [props.selected]);

  useEffect(() => {
    if (!open || active < 0) return;
    const el = listRef.current?.children[active] as HTMLElement | undefined;
    el?.scrollIntoView?.({ block: 'nearest' });
  }, [open, active]);

  const expanded = open && options.length > 0;
  const optionId = (i: number) => `${ids.list}-${i}`;

  function choose(i: number) {
    const o = options[i];
    if (!o) return;
    props.onSelect(o.category);
    setQuery(o.category.name);
    setOpen(false);
    setActive(-1);
  }

  function onKeyDown(e: KeyboardEvent) {
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        if (!open) {
          setOpen(true);
          if (!e.altKey) setActive(options.length > 0 ? 0 : -1);
        } else {
          setActive((a) => Math.min(options.length - 1, a + 1));
        }
        break;
      case 'ArrowUp':
        e.preventDefault();
        if (!open) {
          setOpen(true);
          setActive(options.length - 1);
        } else {
          setActive((a) => Math.max(0, a - 1));
        }
        break;
      case 'Enter':
        // Never submits the form from here: Enter picks, the button saves.
        e.preventDefault();
        if (expanded && active >= 0) choose(active);
        else if (open && options.length === 1) choose(0);
        break;
      case 'Escape':
        if (open) {
          e.preventDefault();
          setOpen(false);
          setActive(-1);
        } else if (query !== '') {
          e.preventDefault();
          setQuery('');
          props.onSelect(null);
        }
        break;
      case 'Tab':
        setOpen(false);
        break;
    }
  }

  function onInput(e: Event) {
    const q = (e.currentTarget as HTMLInputElement).value;
    setQuery(q);
    setOpen(true);
    setActive(-1);
    if (props.selected && q !== props.selected.name) props.onSelect(null);
  }

  const noMatch = open && query !== '' && options.length === 0;

  return (
    <div class="picker">
      <label for={ids.input}>{props.label}</label>
      <input
        id={ids.input}
        type="text"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={expanded ? 'true' : 'false'}
        aria-controls={ids.list}
        aria-activedescendant={expanded && active >= 0 ? optionId(active) : undefined}
        aria-describedby={ids.hint}
        autocomplete="off"
        autocapitalize="off"
        spellcheck={false}
        placeholder="Type to search categories"
        value={query}
        disabled={props.disabled}
        onInput={onInput}
        onKeyDown={onKeyDown}
        onClick={() => setOpen(true)}
        onBlur={() => {
          setOpen(false);
          setActive(-1);
        }}
      />
      <p id={ids.hint} class="hint">
        {noMatch ? `No category matches “${query}”.` : 'Arrow keys to browse, Enter to choose.'}
      </p>
      <ul id={ids.list} role="listbox" aria-label="Categories" ref={listRef} hidden={!expanded}>
        {expanded &&
          options.map((o, i) => (
            <li
              key={o.category.id}
              id={optionId(i)}
              role="option"
              aria-selected={i === active ? 'true' : 'false'}
              class={i === active ? 'active' : undefined}
              // mousedown would blur the input (closing the list) before the click lands.
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => choose(i)}
            >
              <span class="option-name">{o.category.name || o.category.id}</span>
              <span class="option-meta">
                {[
                  kindWords(o.category.kind),
                  o.current ? 'current' : '',
                  o.suggested !== undefined ? `suggested ${percent(o.suggested)}` : '',
                ]
                  .filter(Boolean)
                  .join(' · ')}
              </span>
            </li>
          ))}
      </ul>
    </div>
  );
}
