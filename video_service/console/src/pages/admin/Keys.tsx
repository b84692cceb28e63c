// API keys: an admin key (everything) or a viewer key (watching the sites it names), with an
// optional lifetime; the key itself is shown once, at creation. Revoked at once.
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import type { Site } from "../../api";
import { createKey, listKeys, revokeKey, type ApiKey, type KeyCreate, type KeyCreated, type KeyScope } from "../../adminApi";
import { CreatedSecret } from "../../components/CreatedSecret";
import { formatFullTime } from "../../format";
import { Field, FormWithAlert, problemsOf } from "../../forms";
import { AdminTable, KEYS_KEY, ListStates, NameField, RowActions, SitesField, sitesText, useAdminList, useInvalidate, useSites, wholeNumber } from "./shared";

const CREATE_FIELDS = ["name", "scope", "site_ids", "expires_in_days"] as const;
const KEY_COLUMNS = ["Name", "Scope", "Sites", "Created", "Expires", "Actions"] as const;
const LONGEST_DAYS = 3650;

function CreateKeyForm({ sites, onCreated }: { sites: Site[]; onCreated: (key: KeyCreated) => void }) {
  const invalidate = useInvalidate(KEYS_KEY);
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
      invalidate();
      onCreated(key);
    },
  });
  const submit = () => {
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
    <FormWithAlert className="admin-form" label="Create an API key" messages={problems.top} onSubmit={submit}>
      <NameField value={name} onChange={setName} error={problems.fields.name} />
      <Field label="Scope" error={problems.fields.scope}>
        {(control) => (
          <select {...control} value={scope} onChange={(event) => setScope(event.target.value as KeyScope)}>
            <option value="viewer">Viewer (watches its sites)</option>
            <option value="admin">Admin (everything)</option>
          </select>
        )}
      </Field>
      <SitesField sites={sites} value={siteIds} onChange={setSiteIds} error={problems.fields.site_ids} />
      <Field label="Expires in days" error={problems.fields.expires_in_days} hint="Blank: the key does not expire.">
        {(control) => (
          <input {...control} type="number" min={1} max={LONGEST_DAYS} step={1} value={days} onChange={(event) => setDays(event.target.value)} />
        )}
      </Field>
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? "Creating…" : "Create key"}
      </button>
    </FormWithAlert>
  );
}

function KeyRow({ apiKey, sites }: { apiKey: ApiKey; sites: Site[] }) {
  const invalidate = useInvalidate(KEYS_KEY);
  const revoke = useMutation({ mutationFn: () => revokeKey(apiKey.id), onSuccess: invalidate });
  return (
    <tr data-key-id={apiKey.id}>
      <th scope="row">{apiKey.name}</th>
      <td>{apiKey.scope}</td>
      <td>{apiKey.scope === "admin" ? "all" : sitesText(apiKey.site_ids, sites)}</td>
      <td>{formatFullTime(apiKey.created_at)}</td>
      <td>{apiKey.expires_at ? formatFullTime(apiKey.expires_at) : "never"}</td>
      <RowActions
        what={`key ${apiKey.name}`}
        remove={{ label: "Revoke", question: `Revoke key ${apiKey.name}? Whatever uses it is refused from now on.`, mutation: revoke }}
      />
    </tr>
  );
}

export function KeysSection() {
  const sites = useSites();
  const keys = useAdminList(KEYS_KEY, listKeys);
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
      <ListStates query={keys} count={list.length} what="keys" />
      {list.length > 0 && (
        <AdminTable caption="API keys" columns={KEY_COLUMNS}>
          {list.map((apiKey) => (
            <KeyRow key={apiKey.id} apiKey={apiKey} sites={siteList} />
          ))}
        </AdminTable>
      )}
    </section>
  );
}
