// API keys: an admin key (everything) or a viewer key (watching the sites it names), with an
// optional lifetime; the key itself is shown once, at creation. Revoked at once.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import type { Site } from "../../api";
import { createKey, listKeys, revokeKey, type ApiKey, type KeyCreate, type KeyCreated, type KeyScope } from "../../adminApi";
import { ConfirmButton } from "../../components/ConfirmButton";
import { CreatedSecret } from "../../components/CreatedSecret";
import { formatFullTime } from "../../format";
import { Field, FormAlert, problemsOf } from "../../forms";
import { KEYS_KEY, MULTI_SELECT_HINT, SitesSelect, sitesText, useSites, wholeNumber } from "./shared";

const CREATE_FIELDS = ["name", "scope", "site_ids", "expires_in_days"] as const;
const LONGEST_DAYS = 3650;

function CreateKeyForm({ sites, onCreated }: { sites: Site[]; onCreated: (key: KeyCreated) => void }) {
  const queryClient = useQueryClient();
  const alertId = useId();
  const [name, setName] = useState("");
  const [scope, setScope] = useState<KeyScope>("viewer");
  const [siteIds, setSiteIds] = useState<string[]>([]);
  const [days, setDays] = useState("");
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const create = useMutation({
    mutationFn: createKey,
    // The answer holds the key: kept by the section until dismissed, not by the cache.
    gcTime: 0,
    onSuccess: (key) => {
      setName("");
      setSiteIds([]);
      setDays("");
      void queryClient.invalidateQueries({ queryKey: KEYS_KEY });
      onCreated(key);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body: KeyCreate = { name: name.trim(), scope, site_ids: siteIds };
    if (days.trim()) {
      const asked = wholeNumber(days);
      if (asked === null || asked < 1 || asked > LONGEST_DAYS) {
        setLocal({ expires_in_days: `A whole number of days from 1 to ${LONGEST_DAYS}, or blank for a key that does not expire.` });
        return;
      }
      body.expires_in_days = asked;
    }
    setLocal({});
    create.mutate(body);
  };
  const problems = problemsOf(create.error, CREATE_FIELDS, { local });
  return (
    <form className="admin-form" onSubmit={submit} aria-label="Create an API key" aria-describedby={problems.top.length ? alertId : undefined}>
      <FormAlert id={alertId} messages={problems.top} />
      <Field label="Name" error={problems.fields.name}>
        {(control) => (
          <input {...control} required maxLength={200} autoComplete="off" value={name} onChange={(event) => setName(event.target.value)} />
        )}
      </Field>
      <Field label="Scope" error={problems.fields.scope}>
        {(control) => (
          <select {...control} value={scope} onChange={(event) => setScope(event.target.value as KeyScope)}>
            <option value="viewer">Viewer (watches its sites)</option>
            <option value="admin">Admin (everything)</option>
          </select>
        )}
      </Field>
      <Field label="Sites" error={problems.fields.site_ids} hint={MULTI_SELECT_HINT}>
        {(control) => <SitesSelect control={control} sites={sites} value={siteIds} onChange={setSiteIds} />}
      </Field>
      <Field label="Expires in days" error={problems.fields.expires_in_days} hint="Blank: the key does not expire.">
        {(control) => (
          <input {...control} type="number" min={1} max={LONGEST_DAYS} step={1} value={days} onChange={(event) => setDays(event.target.value)} />
        )}
      </Field>
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? "Creating…" : "Create key"}
      </button>
    </form>
  );
}

function KeyRow({ apiKey, sites }: { apiKey: ApiKey; sites: Site[] }) {
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => revokeKey(apiKey.id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: KEYS_KEY }),
  });
  return (
    <tr data-key-id={apiKey.id}>
      <th scope="row">{apiKey.name}</th>
      <td>{apiKey.scope}</td>
      <td>{apiKey.scope === "admin" ? "all" : sitesText(apiKey.site_ids, sites)}</td>
      <td>{formatFullTime(apiKey.created_at)}</td>
      <td>{apiKey.expires_at ? formatFullTime(apiKey.expires_at) : "never"}</td>
      <td className="actions">
        <ConfirmButton
          label="Revoke"
          what={`key ${apiKey.name}`}
          question={`Revoke key ${apiKey.name}? Whatever uses it is refused from now on.`}
          pending={revoke.isPending}
          onConfirm={() => revoke.mutate()}
        />
        {revoke.isError && (
          <p className="error" role="alert">
            {revoke.error.message}
          </p>
        )}
      </td>
    </tr>
  );
}

export function KeysSection() {
  const sites = useSites();
  const keys = useQuery({
    queryKey: KEYS_KEY,
    queryFn: ({ signal }) => listKeys(signal),
    staleTime: 10000,
  });
  const [created, setCreated] = useState<KeyCreated | null>(null);
  const siteList = sites.data?.data ?? [];
  const list = keys.data?.data ?? [];
  return (
    <section className="admin-section" id="admin-keys" data-testid="admin-section-keys" aria-labelledby="admin-keys-title">
      <h2 id="admin-keys-title">API keys</h2>
      <CreateKeyForm sites={siteList} onCreated={setCreated} />
      {created && (
        <CreatedSecret
          title={`Key ${created.name} (${created.scope})`}
          lines={[{ label: "API key", value: created.key }]}
          onDone={() => setCreated(null)}
        />
      )}
      {keys.isPending && <p role="status">Loading keys…</p>}
      {keys.isError && (
        <p className="error" role="alert">
          Keys: {keys.error.message}
        </p>
      )}
      {keys.isSuccess && !list.length && <p>No keys yet.</p>}
      {list.length > 0 && (
        <div className="table-scroll">
          <table className="admin-table">
            <caption className="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scope</th>
                <th scope="col">Sites</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((apiKey) => (
                <KeyRow key={apiKey.id} apiKey={apiKey} sites={siteList} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
