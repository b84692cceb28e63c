// What the admin sections share: their lists' queries and the query keys their changes
// invalidate; a list's states and table; a row's actions; an edit form's save and buttons;
// the fields more than one form has (a name, sites).
import { useMutation, useQuery, useQueryClient, type QueryKey } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { listSites, type Site } from "../../api";
import { ConfirmButton } from "../../components/ConfirmButton";
import { Field, type ControlProps } from "../../forms";

// The wall and the events page read ["sites"] and ["cameras", ...] too: a change here shows
// there at once.
export const SITES_KEY = ["sites"] as const;
export const CAMERAS_KEY = ["cameras"] as const;
export const USERS_KEY = ["users"] as const;
export const KEYS_KEY = ["keys"] as const;

/**
 * A list a section shows. Every change made here invalidates it at once, so the staleTime
 * only spares fetching it again when another section (all four show sites) or a return to
 * the page asks for it within 10 s.
 */
export function useAdminList<T>(queryKey: QueryKey, list: (signal: AbortSignal) => Promise<T>) {
  return useQuery({
    queryKey,
    queryFn: ({ signal }) => list(signal),
    staleTime: 10000,
  });
}

export function useSites() {
  return useAdminList(SITES_KEY, listSites);
}

/** Marks the lists under these keys stale (those on screen are fetched again): after a change. */
export function useInvalidate(...queryKeys: QueryKey[]): () => void {
  const queryClient = useQueryClient();
  return () => {
    for (const queryKey of queryKeys) void queryClient.invalidateQueries({ queryKey });
  };
}

/** What a list's query says besides its rows (a query's result, infinite or not). */
interface ListQueryState {
  isPending: boolean;
  isError: boolean;
  isSuccess: boolean;
  error: Error | null;
}

interface ListStatesProps {
  query: ListQueryState;
  /** how many rows it has */
  count: number;
  /** the rows, plural, lower case: "sites" */
  what: string;
  /** said when there are none; "No {what} yet." unless given */
  empty?: string;
  /** false where another control already says that the list is loading */
  announceLoading?: boolean;
}

/** A list while it has no rows to show: loading, refused (role="alert"), or none yet. */
export function ListStates({ query, count, what, empty = `No ${what} yet.`, announceLoading = true }: ListStatesProps) {
  const title = what.charAt(0).toUpperCase() + what.slice(1);
  return (
    <>
      {announceLoading && query.isPending && <p role="status">{`Loading ${what}…`}</p>}
      {query.isError && (
        <p className="error" role="alert">
          {`${title}: ${query.error?.message ?? ""}`}
        </p>
      )}
      {query.isSuccess && !count && <p>{empty}</p>}
    </>
  );
}

interface AdminTableProps {
  /** for screen readers: the section's heading already says it to the eye */
  caption: string;
  /** the header row, the last one "Actions" */
  columns: readonly string[];
  /** the rows: a <th scope="row"> first in each, then a <td> a column */
  children: ReactNode;
}

/** A list's table, which scrolls sideways on a narrow screen rather than squeezing its cells. */
export function AdminTable({ caption, columns, children }: AdminTableProps) {
  return (
    <div className="table-scroll">
      <table className="admin-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** A row that has become its edit form, across all the table's columns. */
export function EditingRow({ columns, rowData, children }: { columns: number; rowData: Record<`data-${string}`, string>; children: ReactNode }) {
  return (
    <tr {...rowData}>
      <td colSpan={columns}>{children}</td>
    </tr>
  );
}

/** What a row's button needs of its mutation (a useMutation result without variables). */
interface RowMutation {
  isPending: boolean;
  error: Error | null;
  mutate: () => void;
}

interface RowActionsProps {
  /** the row's thing, in the buttons' accessible names: "site HQ" */
  what: string;
  onEdit?: () => void;
  /** where it can be switched off: the button offers the opposite of `enabled` */
  toggle?: { enabled: boolean; mutation: RowMutation };
  /** the destructive action ("Delete", "Revoke"), asked before it is done */
  remove: { label: string; question: string; mutation: RowMutation };
}

/** A row's last cell: Edit, Enable/Disable, Delete (each named with its row), and a refusal. */
export function RowActions({ what, onEdit, toggle, remove }: RowActionsProps) {
  const failed = toggle?.mutation.error ?? remove.mutation.error;
  const switchTo = toggle?.enabled ? "Disable" : "Enable";
  return (
    <td className="actions">
      {onEdit && (
        <>
          <button type="button" aria-label={`Edit ${what}`} onClick={onEdit}>
            Edit
          </button>{" "}
        </>
      )}
      {toggle && (
        <>
          <button type="button" aria-label={`${switchTo} ${what}`} disabled={toggle.mutation.isPending} onClick={() => toggle.mutation.mutate()}>
            {switchTo}
          </button>{" "}
        </>
      )}
      <ConfirmButton
        label={remove.label}
        what={what}
        question={remove.question}
        pending={remove.mutation.isPending}
        onConfirm={() => remove.mutation.mutate()}
      />
      {failed && (
        <p className="error" role="alert">
          {failed.message}
        </p>
      )}
    </td>
  );
}

/**
 * An edit form's save: `saveChanges` sends only what changed, or, when nothing did, just
 * closes the form (no request for nothing); once saved, `invalidate` and the form closes.
 */
export function useSaveChanges<Changes extends object>(update: (changes: Changes) => Promise<unknown>, invalidate: () => void, onDone: () => void) {
  const save = useMutation({
    mutationFn: update,
    onSuccess: () => {
      invalidate();
      onDone();
    },
  });
  const saveChanges = (changes: Changes) => {
    if (Object.keys(changes).length) save.mutate(changes);
    else onDone();
  };
  return { save, saveChanges };
}

/** An edit form's buttons: Save (held while saving, so that a second click sends nothing) and Cancel. */
export function SaveCancel({ pending, onCancel }: { pending: boolean; onCancel: () => void }) {
  return (
    <>
      <button type="submit" disabled={pending}>
        Save
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </>
  );
}

interface TextFieldProps {
  value: string;
  onChange: (value: string) => void;
  error: string | undefined;
}

/** A site's, a camera's or a key's name (the API holds up to 200 characters). */
export function NameField({ value, onChange, error }: TextFieldProps) {
  return (
    <Field label="Name" error={error}>
      {(control) => <input {...control} required maxLength={200} autoComplete="off" value={value} onChange={(event) => onChange(event.target.value)} />}
    </Field>
  );
}

/** Site names for ids (an id the list lacks is shown as itself). */
export function sitesText(siteIds: string[], sites: Site[] | undefined): string {
  if (!siteIds.length) return "none";
  const names = new Map((sites ?? []).map((site) => [site.id, site.name]));
  return siteIds.map((id) => names.get(id) ?? id).join(", ");
}

const MULTI_SELECT_HINT = "Ctrl-click (⌘-click on a Mac), or Shift with the arrow keys, to choose more than one.";

interface SitesSelectProps {
  control: ControlProps;
  sites: Site[];
  value: string[];
  onChange: (siteIds: string[]) => void;
}

/** Several sites at once; a chosen id the list lacks stays an option (never dropped unseen). */
function SitesSelect({ control, sites, value, onChange }: SitesSelectProps) {
  const unknown = value.filter((id) => !sites.some((site) => site.id === id));
  return (
    <select
      {...control}
      multiple
      size={Math.min(6, Math.max(3, sites.length + unknown.length))}
      value={value}
      onChange={(event) => onChange(Array.from(event.target.selectedOptions, (option) => option.value))}
    >
      {sites.map((site) => (
        <option key={site.id} value={site.id}>
          {site.name}
        </option>
      ))}
      {unknown.map((id) => (
        <option key={id} value={id}>
          {id}
        </option>
      ))}
    </select>
  );
}

/** The sites a user or a key may watch, with the hint on choosing several. */
export function SitesField({ sites, value, onChange, error }: Omit<SitesSelectProps, "control"> & { error: string | undefined }) {
  return (
    <Field label="Sites" error={error} hint={MULTI_SELECT_HINT}>
      {(control) => <SitesSelect control={control} sites={sites} value={value} onChange={onChange} />}
    </Field>
  );
}

/** A number input's text as a whole number, or null when empty or not one. */
export function wholeNumber(text: string): number | null {
  if (!text.trim()) return null;
  const number = Number(text);
  return Number.isInteger(number) ? number : null;
}
