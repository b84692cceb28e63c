"""What a signed playlist must hold: a token on every URI."""

from urllib.parse import parse_qs, urlsplit


def tokens_everywhere(text: str) -> list[str]:
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert uris
    return [parse_qs(urlsplit(uri).query)["token"][0] for uri in uris]
