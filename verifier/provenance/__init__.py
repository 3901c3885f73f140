"""Provenance a reader can check without trusting Verifier's database: signing keys, signed
review-log checkpoints, trusted timestamps and signed WACZ evidence packages.

The plain modules (signing, merkle, package, inspection, tsa) need no database or settings, so a
package can be built and checked from files and plain values alone; models, selectors and
services add storage.
"""
