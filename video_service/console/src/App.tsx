// The routes, behind the session gate: every page but sign-in first asks who is signed in,
// and goes to /sign-in (keeping where it was) when nobody is.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, type ReactNode } from "react";
import { getSession, whenSignedOut } from "./api";
import { Header } from "./components/Header";
import WallPage from "./pages/Wall";
import { matchPath, Redirect, useLocation, withQuery } from "./router";
import { SESSION_KEY, SessionContext, useSession } from "./session";

// One chunk per page: the wall's viewer does not fetch the events page's code, nor admins'.
// The wall, where people land, is in the entry chunk: a lazy page is shown only after its
// fallback has been up 300 ms (React throttles revealing suspended content), and that was
// a sixth of the time from signing in to a live wall.
const SignInPage = lazy(() => import("./pages/SignIn"));
const CameraPage = lazy(() => import("./pages/Camera"));
const EventsPage = lazy(() => import("./pages/Events"));
const AdminPage = lazy(() => import("./pages/Admin"));
const OpsPage = lazy(() => import("./pages/Ops"));

function Loading() {
  return (
    <p className="loading" role="status">
      Loading…
    </p>
  );
}

function AdminsOnly({ children }: { children: ReactNode }) {
  const session = useSession();
  if (session.role !== "admin") {
    return (
      <section>
        <h1>Admins only</h1>
        <p>This page is for administrators.</p>
      </section>
    );
  }
  return children;
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>There is no page at this address.</p>
    </section>
  );
}

function SignedInRoutes({ pathname }: { pathname: string }) {
  const camera = matchPath("/cameras/:id", pathname);
  if (camera?.id) return <CameraPage key={camera.id} cameraId={camera.id} />;
  switch (pathname.replace(/\/+$/, "") || "/") {
    case "/":
      return <Redirect to="/wall" />;
    case "/wall":
      return <WallPage />;
    case "/events":
      return <EventsPage />;
    case "/admin":
      return (
        <AdminsOnly>
          <AdminPage />
        </AdminsOnly>
      );
    case "/ops":
      return (
        <AdminsOnly>
          <OpsPage />
        </AdminsOnly>
      );
    default:
      return <NotFound />;
  }
}

function SignedIn() {
  const { pathname, address } = useLocation();
  const queryClient = useQueryClient();
  const session = useQuery({
    queryKey: SESSION_KEY,
    queryFn: ({ signal }) => getSession(signal),
    staleTime: 60000,
  });
  useEffect(() => {
    // Any other call hearing 401 means the session is gone: back to signing in.
    whenSignedOut(() => queryClient.setQueryData(SESSION_KEY, null));
  }, [queryClient]);

  if (session.isPending) {
    return (
      <main id="main">
        <Loading />
      </main>
    );
  }
  if (session.isError) {
    return (
      <main id="main">
        <h1>SPARC Video</h1>
        <p role="alert">The console cannot reach the API: {session.error.message}</p>
        <button type="button" onClick={() => void session.refetch()}>
          Try again
        </button>
      </main>
    );
  }
  if (session.data === null) return <Redirect to={withQuery("/sign-in", { next: address })} />;
  return (
    <SessionContext.Provider value={session.data}>
      <Header />
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <SignedInRoutes pathname={pathname} />
        </Suspense>
      </main>
    </SessionContext.Provider>
  );
}

export function App() {
  const { pathname } = useLocation();
  if (pathname === "/sign-in") {
    return (
      <Suspense
        fallback={
          <main id="main">
            <Loading />
          </main>
        }
      >
        <SignInPage />
      </Suspense>
    );
  }
  return <SignedIn />;
}
