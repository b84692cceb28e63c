// Sites: added with a name and a tier, renamed or re-tiered, deleted once they have no
// cameras (the API's 409 says so, shown on the site's row).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import type { Site } from "../../api";
import { createSite, deleteSite, updateSite } from "../../adminApi";
import { ConfirmButton } from "../../components/ConfirmButton";
import { formatFullTime } from "../../format";
import { Field, FormAlert, problemsOf } from "../../forms";
import { SITES_KEY, useSites, wholeNumber } from "./shared";

const SITE_FIELDS = ["name", "tier"] as const;
const TIER_HINT = "1 to 100; a higher tier's cameras are served first when workers are short.";

function CreateSiteForm() {
  const queryClient = useQueryClient();
  const alertId = useId();
  const [name, setName] = useState("");
  const [tier, setTier] = useState("1");
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const create = useMutation({
    mutationFn: createSite,
    onSuccess: () => {
      setName("");
      setTier("1");
      void queryClient.invalidateQueries({ queryKey: SITES_KEY });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const asked = wholeNumber(tier);
    if (asked === null || asked < 1 || asked > 100) {
      setLocal({ tier: "The tier is a whole number from 1 to 100." });
      return;
    }
    setLocal({});
    create.mutate({ name: name.trim(), tier: asked });
  };
  const problems = problemsOf(create.error, SITE_FIELDS, { local });
  return (
    <form className="admin-form" onSubmit={submit} aria-label="Add a site" aria-describedby={problems.top.length ? alertId : undefined}>
      <FormAlert id={alertId} messages={problems.top} />
      <Field label="Name" error={problems.fields.name}>
        {(control) => (
          <input {...control} required maxLength={200} autoComplete="off" value={name} onChange={(event) => setName(event.target.value)} />
        )}
      </Field>
      <Field label="Tier" error={problems.fields.tier} hint={TIER_HINT}>
        {(control) => (
          <input {...control} type="number" min={1} max={100} step={1} required value={tier} onChange={(event) => setTier(event.target.value)} />
        )}
      </Field>
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? "Adding…" : "Add site"}
      </button>
    </form>
  );
}

function EditSiteForm({ site, onDone }: { site: Site; onDone: () => void }) {
  const queryClient = useQueryClient();
  const alertId = useId();
  const [name, setName] = useState(site.name);
  const [tier, setTier] = useState(String(site.tier));
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const save = useMutation({
    mutationFn: (changes: { name?: string; tier?: number }) => updateSite(site.id, changes),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: SITES_KEY });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const asked = wholeNumber(tier);
    if (asked === null || asked < 1 || asked > 100) {
      setLocal({ tier: "The tier is a whole number from 1 to 100." });
      return;
    }
    setLocal({});
    const changes: { name?: string; tier?: number } = {};
    if (name.trim() !== site.name) changes.name = name.trim();
    if (asked !== site.tier) changes.tier = asked;
    if (!Object.keys(changes).length) {
      onDone();
      return;
    }
    save.mutate(changes);
  };
  const problems = problemsOf(save.error, SITE_FIELDS, { local });
  return (
    <form className="admin-form inline-form" onSubmit={submit} aria-label={`Edit site ${site.name}`} aria-describedby={problems.top.length ? alertId : undefined}>
      <FormAlert id={alertId} messages={problems.top} />
      <Field label="Name" error={problems.fields.name}>
        {(control) => (
          <input {...control} required maxLength={200} autoComplete="off" value={name} onChange={(event) => setName(event.target.value)} />
        )}
      </Field>
      <Field label="Tier" error={problems.fields.tier}>
        {(control) => (
          <input {...control} type="number" min={1} max={100} step={1} required value={tier} onChange={(event) => setTier(event.target.value)} />
        )}
      </Field>
      <button type="submit" disabled={save.isPending}>
        Save
      </button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

function SiteRow({ site }: { site: Site }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const remove = useMutation({
    mutationFn: () => deleteSite(site.id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: SITES_KEY }),
  });
  if (editing) {
    return (
      <tr data-site-id={site.id}>
        <td colSpan={5}>
          <EditSiteForm site={site} onDone={() => setEditing(false)} />
        </td>
      </tr>
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
      <td className="actions">
        <button type="button" aria-label={`Edit site ${site.name}`} onClick={() => setEditing(true)}>
          Edit
        </button>{" "}
        <ConfirmButton
          label="Delete"
          what={`site ${site.name}`}
          question={`Delete site ${site.name}?`}
          pending={remove.isPending}
          onConfirm={() => remove.mutate()}
        />
        {remove.isError && (
          <p className="error" role="alert">
            {remove.error.message}
          </p>
        )}
      </td>
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
      {sites.isPending && <p role="status">Loading sites…</p>}
      {sites.isError && (
        <p className="error" role="alert">
          Sites: {sites.error.message}
        </p>
      )}
      {sites.isSuccess && !list.length && <p>No sites yet.</p>}
      {list.length > 0 && (
        <div className="table-scroll">
          <table className="admin-table">
            <caption className="visually-hidden">Sites</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Tier</th>
                <th scope="col">ID</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((site) => (
                <SiteRow key={site.id} site={site} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {sites.data?.next && <p className="hint">Only the first 100 sites are shown.</p>}
    </section>
  );
}
