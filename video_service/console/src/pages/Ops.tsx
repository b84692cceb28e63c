import { usePageTitle } from "../hooks";

export default function OpsPage() {
  usePageTitle("Ops");
  return (
    <section>
      <h1>Ops: coming soon</h1>
      <p>Edges, worker pools and CDN health will be shown here.</p>
    </section>
  );
}
