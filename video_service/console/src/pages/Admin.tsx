import { usePageTitle } from "../hooks";

export default function AdminPage() {
  usePageTitle("Admin");
  return (
    <section>
      <h1>Admin: coming soon</h1>
      <p>Sites, cameras, users and keys will be managed here.</p>
    </section>
  );
}
