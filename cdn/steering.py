"""HLS content steering: a master playlist that lists every rung once per provider, and the
steering server's answer that orders those providers for one viewer.

Each variant carries PATHWAY-ID (the provider) and STABLE-VARIANT-ID (the rung), so a player
told to move to another pathway keeps its rung. EXT-X-CONTENT-STEERING names the steering
server and the viewer's first pathway.
"""

from collections.abc import Mapping, Sequence

from cdn.providers import Provider
from cdn.signing import StreamGrant, UrlSigner


def build_steered_master(
    master_text: str,
    grant: StreamGrant,
    providers: Sequence[Provider],
    signers: Mapping[str, UrlSigner],
    *,
    steering_uri: str,
    first: str,
) -> str:
    header, variants = _split_master(master_text)
    lines = [*header, f'#EXT-X-CONTENT-STEERING:SERVER-URI="{steering_uri}",PATHWAY-ID="{first}"']
    for provider in providers:
        for stream_inf, uri in variants:
            rung = uri.split("/")[0]
            path = f"{grant.prefix}{uri}"
            query = signers[provider.name].query(path, grant)
            lines.append(f'{stream_inf},PATHWAY-ID="{provider.name}",STABLE-VARIANT-ID="{rung}"')
            lines.append(f"{provider.base_url}{path}?{query}")
    return "\n".join(lines) + "\n"


def build_steering_response(ranked: Sequence[str], ttl_s: int) -> dict[str, object]:
    return {"VERSION": 1, "TTL": ttl_s, "PATHWAY-PRIORITY": list(ranked)}


def _split_master(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    header: list[str] = []
    variants: list[tuple[str, str]] = []
    pending: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = line
        elif pending is not None and not line.startswith("#"):
            variants.append((pending, line))
            pending = None
        elif line.startswith("#EXT-X-CONTENT-STEERING"):
            continue
        elif pending is None:
            header.append(line)
    return header, variants
