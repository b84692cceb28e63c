// The bar on every signed-in page: where to go, who is signed in, and signing out.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { signOut } from "../api";
import { Link, navigate, useLocation } from "../router";
import { useSession } from "../session";

interface NavItem {
  to: string;
  label: string;
  adminOnly: boolean;
}

const NAV: NavItem[] = [
  { to: "/wall", label: "Wall", adminOnly: false },
  { to: "/events", label: "Events", adminOnly: false },
  { to: "/admin", label: "Admin", adminOnly: true },
  { to: "/ops", label: "Ops", adminOnly: true },
];

export function Header() {
  const session = useSession();
  const { pathname } = useLocation();
  const queryClient = useQueryClient();
  const leave = useMutation({
    mutationFn: signOut,
    onSettled: () => {
      // Whatever the answer, nothing of this user's stays in memory for the next one.
      queryClient.clear();
      navigate("/sign-in", { replace: true });
    },
  });
  const items = NAV.filter((item) => !item.adminOnly || session.role === "admin");
  return (
    <header className="app-header">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <span className="brand">SPARC Video</span>
      <nav aria-label="Main">
        <ul>
          {items.map((item) => (
            <li key={item.to}>
              <Link to={item.to} aria-current={pathname.startsWith(item.to) ? "page" : undefined}>
                {item.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <span className="who">
        Signed in as <strong>{session.username}</strong>
        <span className="role"> ({session.role})</span>
      </span>
      <button type="button" onClick={() => leave.mutate()} disabled={leave.isPending}>
        Sign out
      </button>
    </header>
  );
}
