// The console's users: added with a password, a role and the sites an operator sees;
// enabled or disabled, their role, sites or password changed (which ends their sessions),
// deleted.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import type { Role, Site } from "../../api";
import { createUser, deleteUser, listUsers, updateUser, type User, type UserUpdate } from "../../adminApi";
import { ConfirmButton } from "../../components/ConfirmButton";
import { formatFullTime } from "../../format";
import { Field, FormAlert, problemsOf, type ControlProps } from "../../forms";
import { useSession } from "../../session";
import { MULTI_SELECT_HINT, SitesSelect, USERS_KEY, sitesText, useSites } from "./shared";

const CREATE_FIELDS = ["username", "password", "role", "site_ids"] as const;
const EDIT_FIELDS = ["role", "site_ids", "password"] as const;
const ROLES: { value: Role; label: string }[] = [
  { value: "operator", label: "Operator (watches its sites)" },
  { value: "admin", label: "Admin (everything)" },
];

function RoleSelect({ control, value, onChange }: { control: ControlProps; value: Role; onChange: (role: Role) => void }) {
  return (
    <select {...control} value={value} onChange={(event) => onChange(event.target.value as Role)}>
      {ROLES.map((role) => (
        <option key={role.value} value={role.value}>
          {role.label}
        </option>
      ))}
    </select>
  );
}

function CreateUserForm({ sites }: { sites: Site[] }) {
  const queryClient = useQueryClient();
  const alertId = useId();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("operator");
  const [siteIds, setSiteIds] = useState<string[]>([]);
  const create = useMutation({
    mutationFn: createUser,
    onSuccess: () => {
      setUsername("");
      setPassword("");
      setSiteIds([]);
      void queryClient.invalidateQueries({ queryKey: USERS_KEY });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ username: username.trim(), password, role, site_ids: siteIds });
  };
  const problems = problemsOf(create.error, CREATE_FIELDS);
  return (
    <form className="admin-form" onSubmit={submit} aria-label="Add a user" aria-describedby={problems.top.length ? alertId : undefined}>
      <FormAlert id={alertId} messages={problems.top} />
      <Field label="Username" error={problems.fields.username}>
        {(control) => (
          <input
            {...control}
            required
            maxLength={64}
            autoComplete="off"
            spellCheck={false}
            value={username}
            onChange={(event) => setUsername(event.target.value)}
          />
        )}
      </Field>
      <Field label="Password" error={problems.fields.password}>
        {(control) => (
          <input
            {...control}
            type="password"
            required
            maxLength={1024}
            autoComplete="new-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        )}
      </Field>
      <Field label="Role" error={problems.fields.role}>
        {(control) => <RoleSelect control={control} value={role} onChange={setRole} />}
      </Field>
      <Field label="Sites" error={problems.fields.site_ids} hint={MULTI_SELECT_HINT}>
        {(control) => <SitesSelect control={control} sites={sites} value={siteIds} onChange={setSiteIds} />}
      </Field>
      {create.isSuccess && <p role="status">User {create.data.username} added.</p>}
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? "Adding…" : "Add user"}
      </button>
    </form>
  );
}

function EditUserForm({ user, sites, onDone }: { user: User; sites: Site[]; onDone: () => void }) {
  const queryClient = useQueryClient();
  const alertId = useId();
  const [role, setRole] = useState<Role>(user.role);
  const [siteIds, setSiteIds] = useState<string[]>(user.site_ids);
  const [password, setPassword] = useState("");
  const save = useMutation({
    mutationFn: (changes: UserUpdate) => updateUser(user.id, changes),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: USERS_KEY });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const changes: UserUpdate = {};
    if (role !== user.role) changes.role = role;
    const sameSites = siteIds.length === user.site_ids.length && siteIds.every((id) => user.site_ids.includes(id));
    if (!sameSites) changes.site_ids = siteIds;
    if (password) changes.password = password;
    if (!Object.keys(changes).length) {
      onDone();
      return;
    }
    save.mutate(changes);
  };
  const problems = problemsOf(save.error, EDIT_FIELDS);
  return (
    <form
      className="admin-form inline-form"
      onSubmit={submit}
      aria-label={`Edit user ${user.username}`}
      aria-describedby={problems.top.length ? alertId : undefined}
    >
      <FormAlert id={alertId} messages={problems.top} />
      <Field label="Role" error={problems.fields.role}>
        {(control) => <RoleSelect control={control} value={role} onChange={setRole} />}
      </Field>
      <Field label="Sites" error={problems.fields.site_ids} hint={MULTI_SELECT_HINT}>
        {(control) => <SitesSelect control={control} sites={sites} value={siteIds} onChange={setSiteIds} />}
      </Field>
      <Field label="New password" error={problems.fields.password} hint="Blank: keep the current one. A change signs the user out.">
        {(control) => (
          <input
            {...control}
            type="password"
            maxLength={1024}
            autoComplete="new-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
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

function UserRow({ user, sites, isMe }: { user: User; sites: Site[]; isMe: boolean }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const toggle = useMutation({
    mutationFn: () => updateUser(user.id, { enabled: !user.enabled }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
  const remove = useMutation({
    mutationFn: () => deleteUser(user.id),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
  if (editing) {
    return (
      <tr data-user-id={user.id}>
        <td colSpan={6}>
          <EditUserForm user={user} sites={sites} onDone={() => setEditing(false)} />
        </td>
      </tr>
    );
  }
  const failed = toggle.error ?? remove.error;
  return (
    <tr data-user-id={user.id}>
      <th scope="row">
        {user.username}
        {isMe && " (you)"}
      </th>
      <td>{user.role}</td>
      <td>{user.role === "admin" ? "all" : sitesText(user.site_ids, sites)}</td>
      <td>{user.enabled ? "Enabled" : <span className="badge badge-offline">Disabled</span>}</td>
      <td>{formatFullTime(user.created_at)}</td>
      <td className="actions">
        <button type="button" aria-label={`Edit user ${user.username}`} onClick={() => setEditing(true)}>
          Edit
        </button>{" "}
        <button
          type="button"
          aria-label={`${user.enabled ? "Disable" : "Enable"} user ${user.username}`}
          disabled={toggle.isPending}
          onClick={() => toggle.mutate()}
        >
          {user.enabled ? "Disable" : "Enable"}
        </button>{" "}
        <ConfirmButton
          label="Delete"
          what={`user ${user.username}`}
          question={`Delete user ${user.username}?`}
          pending={remove.isPending}
          onConfirm={() => remove.mutate()}
        />
        {failed && (
          <p className="error" role="alert">
            {failed.message}
          </p>
        )}
      </td>
    </tr>
  );
}

export function UsersSection() {
  const session = useSession();
  const sites = useSites();
  const users = useQuery({
    queryKey: USERS_KEY,
    queryFn: ({ signal }) => listUsers(signal),
    staleTime: 10000,
  });
  const siteList = sites.data?.data ?? [];
  const list = users.data?.data ?? [];
  return (
    <section className="admin-section" id="admin-users" data-testid="admin-section-users" aria-labelledby="admin-users-title">
      <h2 id="admin-users-title">Users</h2>
      <CreateUserForm sites={siteList} />
      {users.isPending && <p role="status">Loading users…</p>}
      {users.isError && (
        <p className="error" role="alert">
          Users: {users.error.message}
        </p>
      )}
      {users.isSuccess && !list.length && <p>No users yet.</p>}
      {list.length > 0 && (
        <div className="table-scroll">
          <table className="admin-table">
            <caption className="visually-hidden">Users</caption>
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col">Role</th>
                <th scope="col">Sites</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.map((user) => (
                <UserRow key={user.id} user={user} sites={siteList} isMe={user.username === session.username} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
