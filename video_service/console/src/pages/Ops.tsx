// Operations (admins only): the live edges and the cameras each owns, the worker pools and
// the CDNs, asked again every 5 s while the tab is shown (React Query stops in a hidden one).
import { useQuery } from "@tanstack/react-query";
import { getCdnHealth, getOverview, getPools, type CdnHealth, type OpsEdge } from "../adminApi";
import { formatFullTime } from "../format";
import { usePageTitle } from "../hooks";
import { Link } from "../router";

const REFRESH_MS = 5000;
/** How a row of a pools member is named, if it has one of these (else its place). */
const NAME_KEYS = ["name", "pool", "id"];
const clock = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** A value from the pools view as text: nested objects and lists spelled out, never markup. */
function textOf(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.length ? value.map(textOf).join(", ") : "—";
  if (typeof value === "object") {
    const entries = Object.entries(value);
    return entries.length ? entries.map(([name, inner]) => `${name}: ${textOf(inner)}`).join(", ") : "—";
  }
  return String(value);
}

interface Row {
  name: string;
  values: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A list of objects (each named by its `name`/`pool`/`id`) or an object of them by name. */
function rowsOf(value: unknown): Row[] {
  if (Array.isArray(value)) {
    return value.map((item: unknown, index) => {
      if (!isRecord(item)) return { name: String(index + 1), values: { value: item } };
      const key = NAME_KEYS.find((candidate) => typeof item[candidate] === "string");
      if (!key) return { name: String(index + 1), values: item };
      const { [key]: name, ...values } = item;
      return { name: String(name), values };
    });
  }
  if (isRecord(value)) {
    return Object.entries(value).map(([name, item]) => ({ name, values: isRecord(item) ? item : { value: item } }));
  }
  return [];
}

function heading(key: string): string {
  const words = key.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Any member of the pools view as a table of name → values. */
function ValuesTable({ title, value, testId }: { title: string; value: unknown; testId: string }) {
  const rows = rowsOf(value);
  const columns: string[] = [];
  for (const row of rows) for (const key of Object.keys(row.values)) if (!columns.includes(key)) columns.push(key);
  if (!rows.length) return <p>No {title.toLowerCase()} reported.</p>;
  return (
    <div className="table-scroll">
      <table className="admin-table ops-table" data-testid={testId}>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {heading(column)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={`${row.name}-${index}`}>
              <th scope="row">{row.name}</th>
              {columns.map((column) => (
                <td key={column}>{textOf(row.values[column])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CameraLinks({ ids }: { ids: string[] }) {
  if (!ids.length) return <>—</>;
  return (
    <ul className="id-list plain">
      {ids.map((id) => (
        <li key={id}>
          <Link to={`/cameras/${encodeURIComponent(id)}`}>
            <code>{id}</code>
          </Link>
        </li>
      ))}
    </ul>
  );
}

function EdgesTable({ edges }: { edges: OpsEdge[] }) {
  if (!edges.length) return <p>No edge is alive.</p>;
  return (
    <div className="table-scroll">
      <table className="admin-table">
        <caption>Live edges</caption>
        <thead>
          <tr>
            <th scope="col">Edge</th>
            <th scope="col">Live view</th>
            <th scope="col">Cameras</th>
            <th scope="col">Sub-streams</th>
          </tr>
        </thead>
        <tbody>
          {edges.map((edge) => (
            <tr key={edge.name} data-testid="ops-edge" data-edge={edge.name}>
              <th scope="row">{edge.name}</th>
              <td className="wrap">{edge.live_view_url ? <code>{edge.live_view_url}</code> : "none"}</td>
              <td>
                <span className="count">{edge.cameras.length}</span>
                <CameraLinks ids={edge.cameras} />
              </td>
              <td>
                <span className="count">{edge.sub_streams.length}</span>
                <CameraLinks ids={edge.sub_streams} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ejectedUntil(provider: CdnHealth): string {
  const until = provider.ejected_until;
  if (until === null || until === undefined) return "";
  const at = typeof until === "number" ? new Date(until * 1000).toISOString() : until;
  return ` until ${formatFullTime(at)}`;
}

function CdnTable({ providers }: { providers: CdnHealth[] }) {
  if (!providers.length) return <p>No CDN is configured.</p>;
  return (
    <div className="table-scroll">
      <table className="admin-table">
        <caption>CDNs</caption>
        <thead>
          <tr>
            <th scope="col">CDN</th>
            <th scope="col">Weight</th>
            <th scope="col">Regions</th>
            <th scope="col">Health probed</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {providers.map((provider) => (
            <tr key={provider.name} className={provider.ejected ? "cdn-ejected" : undefined} data-testid="ops-cdn" data-ejected={provider.ejected}>
              <th scope="row">{provider.name}</th>
              <td>{textOf(provider.weight)}</td>
              <td>{provider.regions.length ? provider.regions.join(", ") : "—"}</td>
              <td>{provider.probed ? "yes" : "no"}</td>
              <td>
                {provider.ejected ? (
                  <>
                    <span className="badge badge-offline">Ejected</span>
                    {ejectedUntil(provider)}
                  </>
                ) : (
                  "In use"
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Only an http(s) address becomes a link (the setting is checked, and checked again here). */
function safeExternal(url: string | null | undefined): string | null {
  if (!url || !/^https?:\/\//i.test(url)) return null;
  try {
    return new URL(url).href;
  } catch {
    return null;
  }
}

function Failed({ what, error }: { what: string; error: Error }) {
  return (
    <p className="error" role="alert">
      {what}: {error.message}
    </p>
  );
}

export default function OpsPage() {
  usePageTitle("Ops");
  const overview = useQuery({
    queryKey: ["ops", "overview"],
    queryFn: ({ signal }) => getOverview(signal),
    refetchInterval: REFRESH_MS,
    staleTime: 0,
  });
  const pools = useQuery({
    queryKey: ["ops", "pools"],
    queryFn: ({ signal }) => getPools(signal),
    refetchInterval: REFRESH_MS,
    staleTime: 0,
  });
  const cdn = useQuery({
    queryKey: ["ops", "cdn"],
    queryFn: ({ signal }) => getCdnHealth(signal),
    refetchInterval: REFRESH_MS,
    staleTime: 0,
  });
  const edges = overview.data?.edges ?? [];
  const online = new Set(edges.flatMap((edge) => edge.cameras)).size;
  const grafana = safeExternal(overview.data?.grafana_url);
  const poolsAt = typeof pools.data?.at === "number" ? clock.format(new Date(pools.data.at * 1000)) : null;
  return (
    <div className="ops-page">
      <div className="page-bar">
        <h1>Ops</h1>
        {grafana && (
          <a href={grafana} rel="noreferrer" target="_blank">
            Grafana
          </a>
        )}
        {overview.dataUpdatedAt > 0 && (
          <span className="muted">Updated {clock.format(new Date(overview.dataUpdatedAt))}, every 5 s</span>
        )}
      </div>

      <section aria-labelledby="ops-edges-title">
        <h2 id="ops-edges-title">Edges</h2>
        {overview.isPending && <p role="status">Loading edges…</p>}
        {overview.isError && <Failed what="Edges" error={overview.error} />}
        {overview.data && (
          <>
            <p className="summary">
              <strong data-testid="ops-online-count">{online}</strong> {online === 1 ? "camera" : "cameras"} online on{" "}
              {edges.length} {edges.length === 1 ? "edge" : "edges"}.
            </p>
            <EdgesTable edges={edges} />
          </>
        )}
      </section>

      <section aria-labelledby="ops-pools-title">
        <h2 id="ops-pools-title">Worker pools</h2>
        {pools.isPending && <p role="status">Loading pools…</p>}
        {pools.isError && <Failed what="Pools" error={pools.error} />}
        {pools.data && (
          <>
            {poolsAt && <p className="muted">As of {poolsAt}.</p>}
            <ValuesTable title="Pools" value={pools.data.pools} testId="ops-pools" />
            <ValuesTable title="Edges' ingest" value={pools.data.edges} testId="ops-pool-edges" />
          </>
        )}
      </section>

      <section aria-labelledby="ops-cdn-title">
        <h2 id="ops-cdn-title">CDNs</h2>
        {cdn.isPending && <p role="status">Loading CDNs…</p>}
        {cdn.isError && <Failed what="CDNs" error={cdn.error} />}
        {cdn.data && <CdnTable providers={cdn.data} />}
      </section>
    </div>
  );
}
