// The console's users: added with a password, a role and the sites an operator sees;
// enabled or disabled, their role, sites or password changed (which ends their sessions),
// deleted.
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import type { Role, Site } from "../../api";
import { createUser, deleteUser, listUsers, updateUser, type User, type UserUpdate } from "../../adminApi";
import { formatFullTime } from "../../format";
import { Field, FormWithAlert, problemsOf } from "../../forms";
import { useSession } from "../../session";
import { AdminTable, EditingRow, ListStates, RowActions, SaveCancel, SitesField, USERS_KEY, sitesText, useAdminList, useInvalidate, useSaveChanges, useSites } from "./shared";

const CREATE_FIELDS = ["username", "password", "role", "site_ids"] as const;
const EDIT_FIELDS = ["role", "site_ids", "password"] as const;
const USER_COLUMNS = ["Username", "Role", "Sites", "State", "Created", "Actions"] as const;
const ROLES: { value: Role; label: string }[] = [
  { value: "operator", label: "Operator (watches its sites)" },
  { value: "admin", label: "Admin (everything)" },
];

function RoleField({ value, onChange, error }: { value: Role; onChange: (role: Role) => void; error: string | undefined }) {
  return (
    <Field label="Role" error={error}>
      {(control) => (
        <select {...control} value={value} onChange={(event) => onChange(event.target.value as Role)}>
          {ROLES.map((role) => (
            <option key={role.value} value={role.value}>
              {role.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

function CreateUserForm({ sites }: { sites: Site[] }) {
  const invalidate = useInvalidate(USERS_KEY);
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
      invalidate();
    },
  });
  const submit = () => create.mutate({ username: username.trim(), password, role, site_ids: siteIds });
  const problems = problemsOf(create.error, CREATE_FIELDS);
  return (
    <FormWithAlert className="admin-form" label="Add a user" messages={problems.top} onSubmit={submit}>
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
      <RoleField value={role} onChange={setRole} error={problems.fields.role} />
      <SitesField sites={sites} value={siteIds} onChange={setSiteIds} error={problems.fields.site_ids} />
      {create.isSuccess && <p role="status">User {create.data.username} added.</p>}
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? "Adding…" : "Add user"}
      </button>
    </FormWithAlert>
  );
}

function EditUserForm({ user, sites, onDone }: { user: User; sites: Site[]; onDone: () => void }) {
  const invalidate = useInvalidate(USERS_KEY);
  const [role, setRole] = useState<Role>(user.role);
  const [siteIds, setSiteIds] = useState<string[]>(user.site_ids);
  const [password, setPassword] = useState("");
  const { save, saveChanges } = useSaveChanges((changes: UserUpdate) => updateUser(user.id, changes), invalidate, onDone);
  const submit = () => {
    const changes: UserUpdate = {};
    if (role !== user.role) changes.role = role;
    const sameSites = siteIds.length === user.site_ids.length && siteIds.every((id) => user.site_ids.includes(id));
    if (!sameSites) changes.site_ids = siteIds;
    if (password) changes.password = password;
    saveChanges(changes);
  };
  const problems = problemsOf(save.error, EDIT_FIELDS);
  return (
    <FormWithAlert className="admin-form inline-form" label={`Edit user ${user.username}`} messages={problems.top} onSubmit={submit}>
      <RoleField value={role} onChange={setRole} error={problems.fields.role} />
      <SitesField sites={sites} value={siteIds} onChange={setSiteIds} error={problems.fields.site_ids} />
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
      <SaveCancel pending={save.isPending} onCancel={onDone} />
    </FormWithAlert>
  );
}

function UserRow({ user, sites, isMe }: { user: User; sites: Site[]; isMe: boolean }) {
  const invalidate = useInvalidate(USERS_KEY);
  const [editing, setEditing] = useState(false);
  const toggle = useMutation({ mutationFn: () => updateUser(user.id, { enabled: !user.enabled }), onSuccess: invalidate });
  const remove = useMutation({ mutationFn: () => deleteUser(user.id), onSuccess: invalidate });
  if (editing) {
    return (
      <EditingRow columns={USER_COLUMNS.length} rowData={{ "data-user-id": user.id }}>
        <EditUserForm user={user} sites={sites} onDone={() => setEditing(false)} />
      </EditingRow>
    );
  }
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
      <RowActions
        what={`user ${user.username}`}
        onEdit={() => setEditing(true)}
        toggle={{ enabled: user.enabled, mutation: toggle }}
        remove={{ label: "Delete", question: `Delete user ${user.username}?`, mutation: remove }}
      />
    </tr>
  );
}

export function UsersSection() {
  const session = useSession();
  const sites = useSites();
  const users = useAdminList(USERS_KEY, listUsers);
  const siteList = sites.data?.data ?? [];
  const list = users.data?.data ?? [];
  return (
    <section className="admin-section" id="admin-users" data-testid="admin-section-users" aria-labelledby="admin-users-title">
      <h2 id="admin-users-title">Users</h2>
      <CreateUserForm sites={siteList} />
      <ListStates query={users} count={list.length} what="users" />
      {list.length > 0 && (
        <AdminTable caption="Users" columns={USER_COLUMNS}>
          {list.map((user) => (
            <UserRow key={user.id} user={user} sites={siteList} isMe={user.username === session.username} />
          ))}
        </AdminTable>
      )}
    </section>
  );
}
