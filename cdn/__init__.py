"""Delivery: CDN providers, the selector, URL signers, playlist token rewriting, steering."""
