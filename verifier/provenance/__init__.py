"""Provenance a reader can check without trusting Verifier's database: signing keys, signed
review-log checkpoints, trusted timestamps and signed WACZ evidence packages.

The plain modules (signing, merkle, package, inspection, tsa) import nothing from Django, so a
package can be built and checked from files alone; services, selectors and models add storage.
"""
