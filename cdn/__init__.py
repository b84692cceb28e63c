"""The CDN side of delivery: provider configuration, the selector, URL signers (CloudFront,
Akamai EdgeAuth, Fastly, and the origin's own), playlist token rewriting and steering manifests.

Imports nothing of ours: the rest of SPARC Video builds on it.
"""
