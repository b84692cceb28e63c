// Administration (admins only; App.tsx tells an operator so): sites, their cameras, the
// console's users and the API keys, one section each on one page, every change followed by
// a fresh list.
import { usePageTitle } from "../hooks";
import { CamerasSection } from "./admin/Cameras";
import { KeysSection } from "./admin/Keys";
import { SitesSection } from "./admin/Sites";
import { UsersSection } from "./admin/Users";

const SECTIONS = [
  { id: "admin-sites", label: "Sites" },
  { id: "admin-cameras", label: "Cameras" },
  { id: "admin-users", label: "Users" },
  { id: "admin-keys", label: "API keys" },
] as const;

export default function AdminPage() {
  usePageTitle("Admin");
  return (
    <div className="admin-page">
      <h1>Admin</h1>
      <nav className="section-nav" aria-label="Admin sections">
        <ul>
          {SECTIONS.map((section) => (
            <li key={section.id}>
              <a href={`#${section.id}`}>{section.label}</a>
            </li>
          ))}
        </ul>
      </nav>
      <SitesSection />
      <CamerasSection />
      <UsersSection />
      <KeysSection />
    </div>
  );
}
