"""The providers of the platform's configuration example (no real keys), for the tests."""

from cdn.providers import GLOBAL, Provider, Scheme

EXAMPLE_PROVIDERS: tuple[Provider, ...] = (
    Provider(
        name="cloudfront",
        weight=0.6,
        regions=("us", "eu"),
        scheme=Scheme.CLOUDFRONT,
        base_url="https://d111111abcdef8.cloudfront.net",
    ),
    Provider(
        name="fastly",
        weight=0.3,
        regions=("us", "asia"),
        scheme=Scheme.FASTLY,
        base_url="https://sparc.global.ssl.fastly.net",
    ),
    Provider(
        name="akamai",
        weight=0.1,
        regions=(GLOBAL,),
        scheme=Scheme.AKAMAI,
        base_url="https://sparc.akamaized.net",
    ),
)
