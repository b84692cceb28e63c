"""The shared base: what every process of SPARC Video stands on.

Settings (`settings`), where media lives (`layout`), object storage (`storage`) and the
spool that hands a process's files to it (`spool`), the one process runner (`process`,
with FFmpeg's `-progress` parser, `progress`), errors (`errors`), Prometheus metrics
(`metrics`), leases and notices over Redis (`leases`, `notices`), the Redis client factory
and key names (`redis_client`, `redis_keys`), the embedded Redis server (`redis_server`),
secrets at rest (`secrets`) and free loopback ports (`ports`).

Imports nothing of ours.
"""
