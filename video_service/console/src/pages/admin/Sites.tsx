// Sites: added with a name and a tier, renamed or re-tiered, deleted once they have no
// cameras (the API's 409 says so, shown on the site's row).
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import type { Site } from "../../api";
import { createSite, deleteSite, updateSite } from "../../adminApi";
import { formatFullTime } from "../../format";
import { Field, FormWithAlert, problemsOf } from "../../forms";
import { AdminTable, EditingRow, ListStates, NameField, RowActions, SaveCancel, SITES_KEY, useInvalidate, useSaveChanges, useSites, wholeNumber } from "./shared";

type SiteChanges = Parameters<typeof updateSite>[1];

const SITE_FIELDS = ["name", "tier"] as const;
const SITE_COLUMNS = ["Name", "Tier", "ID", "Created", "Actions"] as const;
const TIER_HINT = "1 to 100; a higher tier's cameras are served first when workers are short.";
const TIER_PROBLEM = "The tier is a whole number from 1 to 100.";

/** The tier asked for, or null where it is not one: said at the field before the API refuses it. */
function tierOf(text: string): number | null {
  const tier = wholeNumber(text);
  return tier !== null && tier >= 1 && tier <= 100 ? tier : null;
}

function TierField({ value, onChange, error, hint }: { value: string; onChange: (tier: string) => void; error: string | undefined; hint?: string }) {
  return (
    <Field label="Tier" error={error} hint={hint}>
      {(control) => (
        <input {...control} type="number" min={1} max={100} step={1} required value={value} onChange={(event) => onChange(event.target.value)} />
      )}
    </Field>
  );
}

function CreateSiteForm() {
  const invalidate = useInvalidate(SITES_KEY);
  const [name, setName] = useState("");
  const [tier, setTier] = useState("1");
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const create = useMutation({
    mutationFn: createSite,
    onSuccess: () => {
      setName("");
      setTier("1");
      invalidate();
    },
  });
  const submit = () => {
    const asked = tierOf(tier);
    setLocal(asked === null ? { tier: TIER_PROBLEM } : {});
    if (asked !== null) create.mutate({ name: name.trim(), tier: asked });
  };
  const problems = problemsOf(create.error, SITE_FIELDS, { local });
  return (
    <FormWithAlert className="admin-form" label="Add a site" messages={problems.top} onSubmit={submit}>
      <NameField value={name} onChange={setName} error={problems.fields.name} />
      <TierField value={tier} onChange={setTier} error={problems.fields.tier} hint={TIER_HINT} />
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? "Adding…" : "Add site"}
      </button>
    </FormWithAlert>
  );
}

function EditSiteForm({ site, onDone }: { site: Site; onDone: () => void }) {
  const [name, setName] = useState(site.name);
  const [tier, setTier] = useState(String(site.tier));
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const invalidate = useInvalidate(SITES_KEY);
  const { save, saveChanges } = useSaveChanges((changes: SiteChanges) => updateSite(site.id, changes), invalidate, onDone);
  const submit = () => {
    const asked = tierOf(tier);
    setLocal(asked === null ? { tier: TIER_PROBLEM } : {});
    if (asked === null) return;
    const changes: SiteChanges = {};
    if (name.trim() !== site.name) changes.name = name.trim();
    if (asked !== site.tier) changes.tier = asked;
    saveChanges(changes);
  };
  const problems = problemsOf(save.error, SITE_FIELDS, { local });
  return (
    <FormWithAlert className="admin-form inline-form" label={`Edit site ${site.name}`} messages={problems.top} onSubmit={submit}>
      <NameField value={name} onChange={setName} error={problems.fields.name} />
      <TierField value={tier} onChange={setTier} error={problems.fields.tier} />
      <SaveCancel pending={save.isPending} onCancel={onDone} />
    </FormWithAlert>
  );
}

function SiteRow({ site }: { site: Site }) {
  const [editing, setEditing] = useState(false);
  const invalidate = useInvalidate(SITES_KEY);
  const remove = useMutation({ mutationFn: () => deleteSite(site.id), onSuccess: invalidate });
  if (editing) {
    return (
      <EditingRow columns={SITE_COLUMNS.length} rowData={{ "data-site-id": site.id }}>
        <EditSiteForm site={site} onDone={() => setEditing(false)} />
      </EditingRow>
    );
  }
  return (
    <tr data-site-id={site.id}>
      <th scope="row">{site.name}</th>
      <td>{site.tier}</td>
      <td>
        <code>{site.id}</code>
      </td>
      <td>{formatFullTime(site.created_at)}</td>
      <RowActions
        what={`site ${site.name}`}
        onEdit={() => setEditing(true)}
        remove={{ label: "Delete", question: `Delete site ${site.name}?`, mutation: remove }}
      />
    </tr>
  );
}

export function SitesSection() {
  const sites = useSites();
  const list = sites.data?.data ?? [];
  return (
    <section className="admin-section" id="admin-sites" data-testid="admin-section-sites" aria-labelledby="admin-sites-title">
      <h2 id="admin-sites-title">Sites</h2>
      <CreateSiteForm />
      <ListStates query={sites} count={list.length} what="sites" />
      {list.length > 0 && (
        <AdminTable caption="Sites" columns={SITE_COLUMNS}>
          {list.map((site) => (
            <SiteRow key={site.id} site={site} />
          ))}
        </AdminTable>
      )}
      {sites.data?.next && <p className="hint">Only the first 100 sites are shown.</p>}
    </section>
  );
}
