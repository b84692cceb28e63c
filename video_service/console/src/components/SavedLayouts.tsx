// The wall's saved layouts: the site and layout shown now saved under a name (the whole list
// PUT back, a name saved again replaced), and a saved one chosen to show it. Only for a
// signed-in user: an API-key session has none (401), nor an API without them (404), and
// then none of this shows.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { isApiError } from "../api";
import { Field, FormAlert, problemsOf } from "../forms";
import { getLayouts, LAYOUTS_KEY, LONGEST_LAYOUT_NAME, MOST_LAYOUTS, putLayouts, withLayout, type SavedLayout } from "../layouts";
import { navigate, withQuery } from "../router";

const FIELDS = ["name"] as const;

interface SavedLayoutsProps {
  siteId: string | null;
  layout: number;
}

export function SavedLayouts({ siteId, layout }: SavedLayoutsProps) {
  const queryClient = useQueryClient();
  const alertId = useId();
  const chooserId = useId();
  const [name, setName] = useState("");
  const [local, setLocal] = useState<Record<string, string | undefined>>({});
  const saved = useQuery({
    queryKey: LAYOUTS_KEY,
    queryFn: ({ signal }) => getLayouts(signal),
    staleTime: 60000,
  });
  const save = useMutation({
    mutationFn: putLayouts,
    onSuccess: (layouts) => {
      queryClient.setQueryData(LAYOUTS_KEY, layouts);
      setName("");
    },
  });

  if (saved.isError && isApiError(saved.error) && [401, 403, 404].includes(saved.error.status)) return null;
  if (saved.isError) {
    return (
      <p className="error" role="alert">
        Saved layouts: {saved.error.message}
      </p>
    );
  }
  if (!saved.data) return null;
  const layouts = saved.data;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const wanted = name.trim();
    if (!siteId) return;
    if (!wanted || wanted.length > LONGEST_LAYOUT_NAME) {
      setLocal({ name: `A name of 1 to ${LONGEST_LAYOUT_NAME} characters.` });
      return;
    }
    const next = withLayout(layouts, { name: wanted, site_id: siteId, layout });
    if (next.length > MOST_LAYOUTS) {
      setLocal({ name: `At most ${MOST_LAYOUTS} saved layouts: save this one under the name of one to replace.` });
      return;
    }
    setLocal({});
    save.mutate(next);
  };
  const show = (index: string) => {
    const chosen: SavedLayout | undefined = layouts[Number(index)];
    if (chosen) navigate(withQuery("/wall", { site: chosen.site_id, layout: chosen.layout, page: 1 }));
  };
  const current = layouts.findIndex((entry) => entry.site_id === siteId && entry.layout === layout);
  const problems = problemsOf(save.error, FIELDS, { local });
  return (
    <div className="wall-layouts">
      <form className="inline-form" onSubmit={submit} aria-label="Save layout" aria-describedby={problems.top.length ? alertId : undefined}>
        <FormAlert id={alertId} messages={problems.top} />
        <Field label="Layout name" error={problems.fields.name} className="inline">
          {(control) => (
            <input
              {...control}
              required
              maxLength={LONGEST_LAYOUT_NAME}
              autoComplete="off"
              value={name}
              onChange={(event) => setName(event.target.value)}
            />
          )}
        </Field>
        <button type="submit" disabled={!siteId || save.isPending}>
          Save layout
        </button>
        {save.isSuccess && !name && (
          <span role="status" className="muted">
            Saved.
          </span>
        )}
      </form>
      <div className="field inline">
        <label htmlFor={chooserId}>Saved layouts</label>
        <select
          id={chooserId}
          value={current >= 0 ? String(current) : ""}
          onChange={(event) => show(event.target.value)}
          disabled={!layouts.length}
        >
          <option value="">{layouts.length ? "Choose one…" : "None saved yet"}</option>
          {layouts.map((entry, index) => (
            <option key={`${entry.name}-${index}`} value={String(index)}>
              {entry.name}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}
