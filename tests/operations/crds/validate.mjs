// Validate custom resources (KEDA, Prometheus Operator, Istio) against the schemas of their
// CRDs, offline (kubernetes-models). Reads a JSON list of resources on stdin; prints one
// JSON line: [{kind, name, error}] (error null when valid); exits 1 if any is invalid.
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1";
import { PodMonitor, PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { DestinationRule } from "@kubernetes-models/istio/networking.istio.io/v1beta1";

const MODELS = {
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "networking.istio.io/v1beta1/DestinationRule": DestinationRule,
};

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map((resource) => {
  const key = `${resource.apiVersion}/${resource.kind}`;
  const Model = MODELS[key];
  const name = resource.metadata?.name ?? null;
  if (!Model) return { kind: key, name, error: `no schema here for ${key}` };
  try {
    new Model(resource).validate();
    return { kind: key, name, error: null };
  } catch (error) {
    return { kind: key, name, error: String(error.message || error) };
  }
});
console.log(JSON.stringify(results));
process.exit(results.some((r) => r.error) ? 1 : 0);
