import type { RecordModifiedError, StaleRow } from './deps';
import { FORM_FIELDS, type Product } from './product';

/** Server-rendered pages: plain strings, every value escaped. */

export function escape(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { font-size: 1.5rem; } a { color: #0b5cad; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border: 1px solid #ccd; padding: .35rem .6rem; text-align: left; vertical-align: top; }
th { background: #f2f4f8; }
tr.conflict td { background: #fff1c2; } tr.conflict td.field { font-weight: 600; }
tr.conflict td.field::after { content: " \\26A0"; color: #b35c00; }
td.keep { white-space: nowrap; } td.changed { font-weight: 600; }
.notice { background: #e5f6e8; border: 1px solid #8c8; padding: .5rem .8rem; }
.error { background: #fde8e8; border: 1px solid #d88; padding: .5rem .8rem; }
label { display: block; margin: .6rem 0 .2rem; font-weight: 600; }
input[type=text], input[type=number], textarea { width: 24rem; padding: .3rem; font: inherit; }
button { font: inherit; padding: .35rem .9rem; margin-right: .5rem; }
.muted { color: #667; font-size: .9em; }`;

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function message(notice?: string, error?: string): string {
  return (notice ? `<p class="notice" id="notice">${escape(notice)}</p>` : '') + (error ? `<p class="error" id="error">${escape(error)}</p>` : '');
}

export function listPage(products: readonly Product[], o: { notice?: string; error?: string; stale?: readonly StaleRow[] } = {}): string {
  const stale = new Set((o.stale ?? []).map((r) => String(r.pk)));
  const rows = products
    .map(
      (p) => `<tr id="product-${p.id}"${stale.has(String(p.id)) ? ' class="conflict"' : ''}>
<td><input type="checkbox" name="selection" value="${p.id},${p.version}" aria-label="select ${escape(p.name)}"></td>
<td class="field"><a href="/products/${p.id}/edit">${escape(p.name)}</a></td><td>${escape(p.price)}</td><td class="stock">${escape(p.stock)}</td><td>${escape(p.version)}</td></tr>`,
    )
    .join('\n');
  return page(
    'Inventory',
    `<h1>Inventory</h1>${message(o.notice, o.error)}
<form method="post" action="/bulk">
<table><thead><tr><th></th><th>Name</th><th>Price</th><th>Stock</th><th>Version</th></tr></thead><tbody>${rows}</tbody></table>
<button type="submit" name="action" value="restock" id="restock">Restock +10 selected</button>
</form>
<p class="muted">Each checkbox posts "id,version": the action runs only if none of the selected rows changed since this page was shown.</p>`,
  );
}

export function editPage(p: Product, token: string, o: { error?: string; values?: Record<string, unknown> } = {}): string {
  const values = o.values ?? (p.toJSON() as Record<string, unknown>);
  const inputs = FORM_FIELDS.map((f) => {
    const v = escape(values[f.name]);
    const control =
      f.input === 'textarea'
        ? `<textarea id="f-${f.name}" name="${f.name}" rows="3">${v}</textarea>`
        : `<input id="f-${f.name}" name="${f.name}" type="${f.input === 'number' ? 'text' : 'text'}" inputmode="${f.input === 'number' ? 'decimal' : 'text'}" value="${v}">`;
    return `<label for="f-${f.name}">${escape(f.label)}</label>${control}`;
  }).join('\n');
  return page(
    `Edit ${p.name}`,
    `<h1>Edit ${escape(p.name)} <span class="muted">(version ${escape(p.version)})</span></h1>${message(undefined, o.error)}
<form method="post" action="/products/${p.id}">
<input type="hidden" name="_version" value="${escape(token)}">
<input type="hidden" name="_original" value="${escape(JSON.stringify(p.toJSON()))}">
${inputs}
<p><button type="submit" id="save">Save</button> <a href="/">Back to the list</a></p>
</form>`,
  );
}

function cell(value: unknown): string {
  return value === null || value === undefined || value === '' ? '<span class="muted">(empty)</span>' : escape(value);
}

/** The conflict page: mine, theirs and the original side by side, the conflicting fields highlighted. */
export function conflictPage(err: RecordModifiedError, token: string): string {
  const report = err.conflictReport!;
  const original = report.original;
  const mine = report.attempted!;
  const theirs = report.current!;
  const conflicting = new Set(report.conflictingFields);
  const rows = FORM_FIELDS.map((f) => {
    const n = f.name;
    const byMe = report.changedByMe.includes(n);
    const pickMine = conflicting.has(n) || (byMe && !report.changedByThem.includes(n));
    const radio = (side: 'mine' | 'theirs', checked: boolean): string =>
      `<label style="display:inline;font-weight:normal"><input type="radio" name="choice.${n}" value="${side}" id="choice-${n}-${side}"${checked ? ' checked' : ''}> ${side}</label>`;
    return `<tr id="row-${n}"${conflicting.has(n) ? ' class="conflict"' : ''}><td class="field">${escape(f.label)}</td>
<td class="original">${cell(original[n])}</td><td class="mine${byMe ? ' changed' : ''}">${cell(mine[n])}</td><td class="theirs${report.changedByThem.includes(n) ? ' changed' : ''}">${cell(theirs[n])}</td>
<td class="keep">${radio('mine', pickMine)} ${radio('theirs', !pickMine)}</td></tr>`;
  }).join('\n');
  const fields = report.conflictingFields.length;
  return page(
    `Conflict: ${String(theirs['name'])}`,
    `<h1>Someone else saved ${escape(theirs['name'])} while you were editing it</h1>
<p class="error" id="conflict-summary">Your changes were <strong>not</strong> saved: you edited version ${escape(err.expectedVersion)}, it is now at version ${escape(err.actualVersion)}.
${fields === 0 ? '' : `${fields} field${fields === 1 ? ' was' : 's were'} changed by both of you (highlighted).`} Choose what to keep.</p>
<form method="post" action="/products/${escape(err.pk)}/resolve">
<input type="hidden" name="_version" value="${escape(token)}">
<input type="hidden" name="_original" value="${escape(JSON.stringify(theirs))}">
<input type="hidden" name="_mine" value="${escape(JSON.stringify(mine))}">
<input type="hidden" name="_mineFields" value="${escape(report.changedByMe.join(','))}">
<table><thead><tr><th>Field</th><th>Original (what you loaded)</th><th>Mine (what you submitted)</th><th>Theirs (saved meanwhile)</th><th>Keep</th></tr></thead>
<tbody>${rows}</tbody></table>
<p><button type="submit" name="strategy" value="mine" id="keep-mine">Keep mine</button>
<button type="submit" name="strategy" value="theirs" id="take-theirs">Take theirs</button>
<button type="submit" name="strategy" value="merge" id="merge">Save the fields chosen above</button></p>
</form>`,
  );
}

export function gonePage(name: string): string {
  return page('Deleted', `<h1>Deleted</h1><p class="error" id="error">${escape(name)} was deleted by someone else while you were editing it; nothing was saved.</p><p><a href="/">Back to the list</a></p>`);
}
